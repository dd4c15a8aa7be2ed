//! The contract's rules for emails and passwords, applied before anything
//! expensive happens.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

pub const MAX_EMAIL_CHARS: usize = 254;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// An email as the user typed it (trimmed) and the key it is unique by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub display: String,
    pub normalized: String,
}

/// A bare address as `email_address` parses it (RFC 5322 `addr-spec`): no
/// display name, angle brackets, comments or domain literal, a domain of at
/// least two labels.
const ADDRESS: email_address::Options = email_address::Options {
    minimum_sub_domains: 2,
    allow_domain_literal: false,
    allow_display_text: false,
    allow_long_local_parts: false,
};

impl Email {
    /// An address a user gives: trimmed, NFC, at most 254 characters, and a
    /// bare `local@domain` (a dot-atom local part: no quoted string either),
    /// else `None`. `x<y@evil.example>` is refused: mail would go to
    /// `y@evil.example`, which is not the string that was verified.
    pub fn parse(input: &str) -> Option<Self> {
        let display: String = input.trim().nfc().collect();
        if display.is_empty() || display.chars().count() > MAX_EMAIL_CHARS {
            return None;
        }
        if display.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let parsed = email_address::EmailAddress::parse_with_options(&display, ADDRESS).ok()?;
        if parsed.local_part().starts_with('"') || parsed.email() != display {
            return None;
        }
        // A domain is a host name: letters (any script: IDN), digits and
        // hyphens in each label (`email_address` lets other atext through).
        let host_name = parsed
            .domain()
            .split('.')
            .all(|label| label.chars().all(|c| c.is_alphanumeric() || c == '-'));
        // And what the mailer will take.
        if !host_name || display.parse::<lettre::Address>().is_err() {
            return None;
        }
        Some(Self::stored(&display))
    }

    /// An address given to find an account by (login, a reset, a passkey
    /// login): the rules registration used before addresses had to be bare
    /// (one `@`, a dot in the domain, no spaces or control characters, at
    /// most 254 characters), so an account registered then still logs in.
    /// Every address `parse` accepts is found the same way.
    pub fn lookup(input: &str) -> Option<Self> {
        let display: String = input.trim().nfc().collect();
        if display.is_empty() || display.chars().count() > MAX_EMAIL_CHARS {
            return None;
        }
        if display.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (local, domain) = display.split_once('@')?;
        if local.is_empty() || domain.contains('@') {
            return None;
        }
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return None;
        }
        Some(Self::stored(&display))
    }

    /// An address as stored (it passed `parse` when it was registered, or
    /// was under the rules of an older version): never refused.
    pub fn stored(address: &str) -> Self {
        Self {
            display: address.to_string(),
            normalized: address.to_lowercase(),
        }
    }
}

/// A password in NFC form. Debug never shows it.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
}

impl Password {
    /// NFC-normalizes (NIST SP 800-63B §5.1.1.2) and checks the bounds.
    /// The length of the raw input is checked first, so no normalization
    /// work is spent on an oversized string.
    pub fn parse(input: &str) -> Result<Self, PasswordProblem> {
        // NFC shrinks a string at most 4:1 in chars (the longest canonical
        // decomposition is four code points, e.g. U+1F82); anything longer
        // than this cannot come back under the limit.
        if input.chars().count() > MAX_PASSWORD_CHARS * 4 {
            return Err(PasswordProblem::TooLong);
        }
        let normalized: String = input.nfc().collect();
        let chars = normalized.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(PasswordProblem::TooShort);
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(PasswordProblem::TooLong);
        }
        Ok(Self(normalized))
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_keyed_in_lower_case() {
        let e = Email::parse("  Alice@Example.COM ").unwrap();
        assert_eq!(e.display, "Alice@Example.COM");
        assert_eq!(e.normalized, "alice@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "plain",
            "a@b",
            "a@@b.c",
            "a@b@c.d",
            "@b.c",
            "a b@c.d",
            "a@b..c",
            "a\u{7}@b.c",
            &format!("{}@b.c", "a".repeat(260)),
            // Display names, angle brackets, comments, quoted local parts
            // and domain literals: a bare address only.
            "x<y@evil.example>",
            "x <y@evil.example>",
            "<y@evil.example>",
            "y@evil.example>",
            "\"x<y\"@evil.example",
            "\"x\"@evil.example",
            "y(comment)@evil.example",
            "y@[192.0.2.1]",
            "y@evil.example,z@evil.example",
            "y;z@evil.example",
            // A domain the mailer would refuse.
            "a@x#y.example",
        ] {
            assert_eq!(Email::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_account_registered_under_the_older_rules_is_still_found() {
        for older in [
            "x<y@evil.example>",
            &format!("{}@example.com", "a".repeat(70)),
        ] {
            assert_eq!(Email::parse(older), None, "{older}");
            assert!(Email::lookup(older).is_some(), "{older}");
        }
        for bad in ["", "plain", "a@b", "a b@c.d", "a@b..c"] {
            assert_eq!(Email::lookup(bad), None, "{bad:?}");
        }
        let e = Email::lookup("  Alice@Example.COM ").unwrap();
        assert_eq!(e, Email::parse("Alice@Example.COM").unwrap());
    }

    #[test]
    fn ordinary_addresses_are_accepted() {
        for good in [
            "a@b.c",
            "first.last+tag@sub.example.com",
            "o'brien@example.ie",
            "user_name-1@example.co.uk",
            "josé@exemple.fr",
        ] {
            assert!(Email::parse(good).is_some(), "{good:?}");
        }
    }

    #[test]
    fn password_bounds_count_characters_after_nfc() {
        assert_eq!(
            Password::parse("short").unwrap_err(),
            PasswordProblem::TooShort
        );
        // 8 code points typed, 7 characters after NFC (e + combining acute = é).
        assert!(Password::parse("eeeeeee\u{301}").is_err());
        assert!(Password::parse(&"ü".repeat(1024)).is_ok());
        assert_eq!(
            Password::parse(&"x".repeat(1025)).unwrap_err(),
            PasswordProblem::TooLong
        );
    }

    #[test]
    fn the_longest_password_typed_in_nfd_is_accepted() {
        // U+1F82 decomposes to four code points: 4,096 typed, 1,024 after NFC.
        let typed: String = "\u{3b1}\u{313}\u{300}\u{345}".repeat(MAX_PASSWORD_CHARS);
        assert_eq!(typed.chars().count(), 4 * MAX_PASSWORD_CHARS);
        assert!(Password::parse(&typed).is_ok());
        let one_more = format!("{typed}x");
        assert_eq!(
            Password::parse(&one_more).unwrap_err(),
            PasswordProblem::TooLong
        );
    }

    #[test]
    fn nfc_makes_equivalent_passwords_equal() {
        let composed = Password::parse("caf\u{e9}-password").unwrap();
        let decomposed = Password::parse("cafe\u{301}-password").unwrap();
        assert_eq!(composed.as_bytes(), decomposed.as_bytes());
    }
}
