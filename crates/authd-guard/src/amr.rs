//! How the user authenticated (RFC 8176 `amr`), as a small set: what the
//! guard needs to require a second factor (RFC 9470) without allocating.

/// A set of RFC 8176 methods. Values authd does not issue are ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Amr(u8);

impl Amr {
    /// `pwd`: a password.
    pub const PASSWORD: Amr = Amr(1);
    /// `otp`: a one-time code (TOTP, or a recovery code).
    pub const ONE_TIME_CODE: Amr = Amr(2);
    /// `hwk`: a passkey bound to its device.
    pub const HARDWARE_KEY: Amr = Amr(4);
    /// `swk`: a passkey synced between devices.
    pub const SOFTWARE_KEY: Amr = Amr(8);
    /// `mfa`: more than one factor.
    pub const MULTIPLE_FACTORS: Amr = Amr(16);
    /// `fed`: an OpenID provider vouched for the user (an ID token).
    pub const FEDERATED: Amr = Amr(32);

    const NAMES: [(Amr, &'static str); 6] = [
        (Self::FEDERATED, "fed"),
        (Self::PASSWORD, "pwd"),
        (Self::ONE_TIME_CODE, "otp"),
        (Self::HARDWARE_KEY, "hwk"),
        (Self::SOFTWARE_KEY, "swk"),
        (Self::MULTIPLE_FACTORS, "mfa"),
    ];

    pub const fn empty() -> Self {
        Amr(0)
    }

    pub const fn with(self, other: Amr) -> Self {
        Amr(self.0 | other.0)
    }

    pub const fn contains(self, other: Amr) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// A second factor or a passkey: what `AUTHD_REQUIRE_MFA` asks for.
    pub const fn is_strong(self) -> bool {
        self.0
            & (Self::ONE_TIME_CODE.0
                | Self::HARDWARE_KEY.0
                | Self::SOFTWARE_KEY.0
                | Self::MULTIPLE_FACTORS.0)
            != 0
    }

    /// The `acr` a token with these methods carries: `aal2` when strong.
    pub const fn acr(self) -> &'static str {
        if self.is_strong() {
            "aal2"
        } else {
            "aal1"
        }
    }

    /// The RFC 8176 names, in a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(amr, _)| self.contains(*amr))
            .map(|(_, name)| name)
    }

    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        names.into_iter().fold(Self::empty(), |set, name| {
            match Self::NAMES.iter().find(|(_, n)| *n == name) {
                Some((amr, _)) => set.with(*amr),
                None => set,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_strength() {
        let amr = Amr::PASSWORD
            .with(Amr::ONE_TIME_CODE)
            .with(Amr::MULTIPLE_FACTORS);
        assert_eq!(amr.names().collect::<Vec<_>>(), ["pwd", "otp", "mfa"]);
        assert_eq!(Amr::from_names(["mfa", "pwd", "otp", "face"]), amr);
        assert!(amr.is_strong());
        assert!(!Amr::PASSWORD.is_strong());
        assert!(!Amr::empty().is_strong());
        assert!(Amr::HARDWARE_KEY.is_strong());
        assert_eq!(Amr::PASSWORD.acr(), "aal1");
        assert_eq!(amr.acr(), "aal2");
    }
}
