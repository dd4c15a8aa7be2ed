//! Password hashing: how many Argon2id runs at once, and its parameters.

use argon2::Params;

use super::hasher::Parameter;
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
    /// production, against OWASP's minimums. A refusal names the setting at
    /// fault.
    pub fn params(&self, production: bool) -> Result<Params, ConfigError> {
        let params = Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(super::hasher::OUTPUT_LEN),
        )
        .map_err(|e| ConfigError::new(argon2_variable(&e), format!("argon2 refuses it: {e}")))?;
        super::hasher::within_bounds(&params).map_err(|bound| {
            ConfigError::new(
                variable(bound.parameter),
                format!("beyond what authd verifies: {}", bound.why),
            )
        })?;
        let work = u64::from(self.memory_kib) * u64::from(self.iterations);
        if production && (self.memory_kib < OWASP_MIN_MEMORY_KIB || work < OWASP_MIN_WORK) {
            // Memory below the floor is memory's fault; enough memory with
            // too little work wants more iterations.
            let at_fault = if self.memory_kib < OWASP_MIN_MEMORY_KIB {
                Parameter::Memory
            } else {
                Parameter::Iterations
            };
            return Err(ConfigError::new(
                variable(at_fault),
                format!(
                    "{} KiB × {} iterations is below OWASP's minimum for Argon2id (e.g. 19456 KiB × 2, 12288 × 3, 7168 × 5)",
                    self.memory_kib, self.iterations
                ),
            ));
        }
        Ok(params)
    }
}

const MEMORY: &str = "AUTHD_ARGON2_MEMORY_KIB";
const ITERATIONS: &str = "AUTHD_ARGON2_ITERATIONS";
const PARALLELISM: &str = "AUTHD_ARGON2_PARALLELISM";

fn variable(parameter: Parameter) -> &'static str {
    match parameter {
        Parameter::Memory => MEMORY,
        Parameter::Iterations => ITERATIONS,
        Parameter::Lanes => PARALLELISM,
        // Memory × iterations: iterations are what is usually raised.
        Parameter::Work => ITERATIONS,
    }
}

/// The setting behind an error of `Params::new`.
fn argon2_variable(e: &argon2::Error) -> &'static str {
    match e {
        argon2::Error::TimeTooSmall => ITERATIONS,
        argon2::Error::ThreadsTooFew | argon2::Error::ThreadsTooMany => PARALLELISM,
        // Memory must also be at least 8 KiB per lane.
        _ => MEMORY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::settings::Vars;

    fn refusal(production: bool, memory: &str, iterations: &str, lanes: &str) -> ConfigError {
        let vars = Vars::new([
            (MEMORY.to_string(), memory.to_string()),
            (ITERATIONS.to_string(), iterations.to_string()),
            (PARALLELISM.to_string(), lanes.to_string()),
        ]);
        HashingSettings::read(&vars)
            .unwrap()
            .params(production)
            .unwrap_err()
    }

    #[test]
    fn each_refusal_names_the_setting_at_fault() {
        for (production, memory, iterations, lanes, at_fault, says) in [
            (false, "300000", "1", "1", MEMORY, "256 MiB"),
            (false, "19456", "11", "1", ITERATIONS, "10 iterations"),
            (false, "19456", "2", "17", PARALLELISM, "16 lanes"),
            (false, "262144", "5", "1", ITERATIONS, "memory × iterations"),
            (false, "8", "2", "4", MEMORY, "memory cost is too small"),
            (true, "4096", "9", "1", MEMORY, "OWASP"),
            (true, "8192", "1", "1", ITERATIONS, "OWASP"),
        ] {
            let e = refusal(production, memory, iterations, lanes);
            assert_eq!(e.variable, at_fault, "{memory} {iterations} {lanes}: {e}");
            assert!(e.reason.contains(says), "{e}");
        }
    }
}
