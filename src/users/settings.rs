//! Password hashing: how many Argon2id runs at once, and its parameters.

use argon2::Params;

use crate::common::settings::{positive, ConfigError};
use crate::settings_section;

settings_section! {
    /// The Argon2id pool and parameters. Stored hashes keep verifying with
    /// their own parameters; one made with others is rehashed with these at
    /// its next successful login.
    pub struct HashingSettings in "password hashing" {
        /// Hashes that run at once, each with its own working memory (memory ×
        /// this is the hashing part of the memory budget). Default: the cores
        /// less one, at least 1, at most 8.
        pub threads: Option<usize> = "AUTHD_HASHING_THREADS" [] => positive::<usize>;
        /// Argon2id memory per hash, KiB (OWASP's minimum, with 2 iterations:
        /// 19456). Production refuses less than OWASP's minimums.
        pub memory_kib: u32 = "AUTHD_ARGON2_MEMORY_KIB" ["19456"] => positive;
        /// Argon2id passes over that memory.
        pub iterations: u32 = "AUTHD_ARGON2_ITERATIONS" ["2"] => positive;
        /// Argon2id lanes (computed one after another in one hashing thread).
        pub parallelism: u32 = "AUTHD_ARGON2_PARALLELISM" ["1"] => positive;
    }
}

/// OWASP's Password Storage Cheat Sheet: m=47104 t=1, 19456/2, 12288/3,
/// 9216/4, 7168/5 (KiB, iterations): about the same work, m × t ≥ 37 MiB
/// passes (35840 KiB·t at the least), and never less than 7 MiB.
const OWASP_MIN_MEMORY_KIB: u32 = 7168;
const OWASP_MIN_WORK: u64 = 35_840;

impl HashingSettings {
    /// The pool size: as set, or the cores less one (1 to 8).
    pub fn threads(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .saturating_sub(1)
                .clamp(1, 8)
        })
    }

    /// Argon2 parameters, checked against what authd accepts in a stored
    /// hash (its own hashes must verify on every instance) and, in
    /// production, against OWASP's minimums.
    pub fn params(&self, production: bool) -> Result<Params, ConfigError> {
        let params = Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(super::hasher::OUTPUT_LEN),
        )
        .map_err(|e| {
            ConfigError::new("AUTHD_ARGON2_MEMORY_KIB", format!("argon2 refuses it: {e}"))
        })?;
        super::hasher::within_bounds(&params).map_err(|why| {
            ConfigError::new(
                "AUTHD_ARGON2_MEMORY_KIB",
                format!("beyond what authd verifies: {why}"),
            )
        })?;
        let work = u64::from(self.memory_kib) * u64::from(self.iterations);
        if production && (self.memory_kib < OWASP_MIN_MEMORY_KIB || work < OWASP_MIN_WORK) {
            return Err(ConfigError::new(
                "AUTHD_ARGON2_MEMORY_KIB",
                format!(
                    "{} KiB × {} iterations is below OWASP's minimum for Argon2id (e.g. 19456 KiB × 2, 12288 × 3, 7168 × 5)",
                    self.memory_kib, self.iterations
                ),
            ));
        }
        Ok(params)
    }
}
