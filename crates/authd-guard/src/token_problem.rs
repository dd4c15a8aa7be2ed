//! Why an access token was refused, said to the client that sent it (RFC
//! 6750 §3: the `error_description` of a 401 `invalid_token`, in the body
//! and in `WWW-Authenticate`). Each reason is one constant text, so a
//! refusal allocates nothing; none says more than the token's holder can
//! see for themselves (never which key or claim failed).

use crate::verifier::Rejected;

/// The `error_description` of a 401 `invalid_token` when no token was sent
/// (what was wrong with a token that was: [`TokenProblem::description`];
/// authd's own errors use the same texts).
pub const INVALID_TOKEN_DESCRIPTION: &str = "a valid Bearer access token is required";

/// What was wrong with the access token of a 401 `invalid_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// No token was sent (`WWW-Authenticate` then has no `error`).
    Missing,
    /// Not a JWT at all: garbage, or a refresh token sent as Bearer.
    NotAJwt,
    /// Signed and addressed right, but `exp` (with the leeway) has passed.
    Expired,
    /// Its session has ended (logout, revocation, a password change), or
    /// its account is gone.
    SessionEnded,
    /// Its binding and the scheme disagree: a DPoP-bound token sent as
    /// Bearer, or an unbound one as DPoP.
    WrongScheme,
    /// Anything else: a signature, key, issuer, audience, `typ` or claim
    /// this server does not accept.
    Invalid,
    /// A route that takes a configured secret (authd's admin API and
    /// introspection) was sent another one.
    UnknownSecret,
}

/// Declares each problem's description and its `WWW-Authenticate`
/// challenge from one literal, so the two never disagree.
macro_rules! problems {
    ($($problem:ident => $description:literal,)+) => {
        impl TokenProblem {
            /// The `error_description` (RFC 6750 §3).
            pub const fn description(self) -> &'static str {
                match self {
                    Self::Missing => INVALID_TOKEN_DESCRIPTION,
                    $(Self::$problem => $description,)+
                }
            }

            /// The `WWW-Authenticate` challenge (RFC 6750 §3): `error` and
            /// `error_description` only when a token was sent.
            pub const fn challenge(self) -> &'static str {
                match self {
                    Self::Missing => r#"Bearer realm="authd""#,
                    $(Self::$problem => concat!(
                        r#"Bearer realm="authd", error="invalid_token", error_description=""#,
                        $description,
                        '"',
                    ),)+
                }
            }
        }
    };
}

problems! {
    NotAJwt => "the Bearer token is not a JWT access token: send the access_token of a token response, not the refresh_token",
    Expired => "the access token has expired: get a new one with the refresh token, or log in again",
    SessionEnded => "the session of the access token has ended (logout, revocation or a password change): log in again",
    WrongScheme => "a DPoP-bound access token goes with the DPoP scheme and a proof; any other with the Bearer scheme",
    Invalid => "the access token is not valid here: its signature, key, issuer, audience or type is not one this server accepts",
    UnknownSecret => "the Bearer token is not one of the secrets configured for this route",
}

impl TokenProblem {
    /// Whether a token was sent at all.
    pub const fn token_sent(self) -> bool {
        !matches!(self, Self::Missing)
    }
}

impl From<Rejected> for TokenProblem {
    fn from(rejected: Rejected) -> Self {
        match rejected {
            Rejected::MalformedHeader => Self::NotAJwt,
            Rejected::Expired => Self::Expired,
            Rejected::TooLarge
            | Rejected::AlgorithmNotAllowed
            | Rejected::WrongType
            | Rejected::UnknownKid
            | Rejected::SignatureOrClaims
            | Rejected::BadSubject
            | Rejected::BadConfirmation => Self::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [TokenProblem; 7] = [
        TokenProblem::Missing,
        TokenProblem::NotAJwt,
        TokenProblem::Expired,
        TokenProblem::SessionEnded,
        TokenProblem::WrongScheme,
        TokenProblem::Invalid,
        TokenProblem::UnknownSecret,
    ];

    /// RFC 6750 §3: `error_description` is `%x20-21 / %x23-5B / %x5D-7E`
    /// (no `"` or `\`), so it can stand in the quoted header value.
    #[test]
    fn every_description_fits_a_challenge_and_is_in_it() {
        for problem in ALL {
            let text = problem.description();
            assert!(
                text.bytes()
                    .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
                "{problem:?}"
            );
            if problem.token_sent() {
                assert!(
                    problem.challenge().ends_with(&format!(
                        r#"error="invalid_token", error_description="{text}""#
                    )),
                    "{problem:?}"
                );
            } else {
                assert_eq!(problem.challenge(), r#"Bearer realm="authd""#);
            }
        }
    }

    #[test]
    fn each_problem_says_something_else() {
        let mut texts: Vec<_> = ALL.iter().map(|p| p.description()).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), ALL.len());
        assert!(TokenProblem::Expired.description().contains("expired"));
        assert!(TokenProblem::from(Rejected::Expired) == TokenProblem::Expired);
    }
}
