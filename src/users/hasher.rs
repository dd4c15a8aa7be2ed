//! Argon2id hashing off the async workers, a few at a time, in memory that
//! authd owns.
//!
//! Each hash or verification needs 19 MiB of working memory (m=19456 KiB).
//! Letting the argon2 crate allocate it per call made resident memory climb
//! to about 490 MiB after a burst of 200 logins and stay there: glibc raises
//! its mmap threshold after the first large block is freed, so later blocks
//! come from per-thread arenas, and each blocking thread that ran a hash
//! keeps its own. So the hasher owns its memory instead: one block set per
//! hashing slot, made on first use and reused for every later hash, whatever
//! thread runs it. Resident memory is then bounded by slots × 19 MiB, with
//! any allocator.
//!
//! Measured on the 2-core machine (release build, 1 slot, 8 accounts, two
//! 10 s floods of logins 16 at a time with wrk, `bench/login.lua`):
//!
//! | option                                   | resident after | logins/s |
//! |------------------------------------------|----------------|----------|
//! | the crate allocates per call (before)    | 509 MiB        | 47       |
//! | glibc mmap threshold 1 MiB (mallopt/env) | 35 MiB         | 36       |
//! | owned blocks, reused (this)              | 34 MiB         | 49       |
//!
//! The mmap threshold frees the memory but pays an mmap, ~4,900 page faults
//! and a munmap per hash (22 % fewer logins), and only on glibc; owned
//! blocks hold 19 MiB per slot for good (32 MiB at start, counted in the
//! README's budget) and keep the hash loop on warm memory.
//!
//! A flood of logins waits for a slot (bounded in time) instead of piling
//! work onto the async workers or into memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use super::input::Password;

/// Why a password could not be checked or hashed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every slot stayed busy for the whole queue budget: try again soon.
    #[error("password hashing is saturated")]
    Busy,
    /// Argon2 itself failed while making a new hash.
    #[error("argon2: {0}")]
    Argon2(String),
    /// The stored hash is not one authd will verify against: it does not
    /// parse, or its parameters are outside the bounds below. The text says
    /// which, never what the hash holds. The password was checked against
    /// the dummy instead, so this took the time a wrong password takes.
    #[error("stored password hash unusable: {0}")]
    StoredHash(&'static str),
    /// The hashing task died.
    #[error("hashing task")]
    Task(#[source] tokio::task::JoinError),
}

/// Argon2id output length, bytes (the crate's default).
pub(crate) const OUTPUT_LEN: usize = 32;
/// What a stored hash may ask of a verification, checked before any
/// hashing: the parameters come from the database, and one verification
/// holds the one hashing slot (with two cores) until it ends, so a row with
/// `t=4294967295` (a bad import, a stray write) would otherwise block every
/// login, registration and password change for hours. The bounds are
/// generous for real configurations: ours is m=19 MiB, t=2, p=1; OWASP's
/// alternatives run from m=47 MiB, t=1 to m=7 MiB, t=5; RFC 9106's second
/// recommendation is m=64 MiB, t=3, p=4; libsodium's "moderate" m=256 MiB,
/// t=3. A hash outside them is refused like a wrong password and logged.
///
/// Memory (KiB): a verification allocates it.
const MAX_STORED_M_COST: u32 = 256 * 1024;
/// Passes over that memory.
const MAX_STORED_T_COST: u32 = 10;
/// Lanes: no more CPU here (lanes run one after the other), but the
/// standard's 2^24 − 1 is no real configuration.
const MAX_STORED_P_COST: u32 = 16;
/// Memory × passes (KiB): the work of one verification, at most 4 passes
/// over 256 MiB (about 27 times ours), so the largest memory does not
/// combine with the most passes.
const MAX_STORED_WORK: u64 = 4 * 256 * 1024;

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    permits: Arc<Semaphore>,
    slots: usize,
    /// What new hashes are made with (`AUTHD_ARGON2_*`).
    params: Params,
    /// Working memory of idle slots. A job holds a permit, so it always
    /// finds a block here or makes the one its slot has not made yet.
    memory: Mutex<Vec<Box<[Block]>>>,
    /// How long a login may wait for a hashing slot before it gets a 503.
    queue_budget: Duration,
    /// Argon2 runs so far: lets tests prove a path did no hashing.
    runs: AtomicU64,
    /// A real Argon2id hash of a random password, verified for unknown
    /// emails (and unusable stored hashes) so that they cost the same time
    /// as a wrong password.
    dummy: Stored,
}

impl PasswordHasher {
    /// `slots` hashes at once (`AUTHD_HASHING_THREADS`), new hashes with
    /// `params`. Hashes one random password (about 50 ms) to make the dummy.
    pub fn new(queue_budget: Duration, slots: usize, params: Params) -> Result<Self, String> {
        let slots = slots.max(1);
        let mut first = new_memory(&params);
        let mut random = [0u8; 32];
        rand::fill(&mut random);
        let dummy = hash_with(&random, &mut first, &params).map_err(|e| format!("argon2: {e}"))?;
        let dummy = parse_stored(&dummy).map_err(|e| format!("argon2: {e}"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(slots)),
                slots,
                params,
                memory: Mutex::new(vec![first]),
                queue_budget,
                runs: AtomicU64::new(0),
                dummy,
            }),
        })
    }

    /// How many hashes run at once, each with its own working memory.
    pub fn slots(&self) -> usize {
        self.inner.slots
    }

    /// The median time of one hash with `params`, over `runs` hashes of a
    /// random password on this thread (`authd hash-time`: the login ceiling
    /// is the slots divided by it).
    pub fn time_hash(runs: usize, params: &Params) -> Result<Duration, String> {
        let mut memory = new_memory(params);
        let mut times = Vec::with_capacity(runs.max(1));
        for _ in 0..runs.max(1) {
            let mut random = [0u8; 32];
            rand::fill(&mut random);
            let started = std::time::Instant::now();
            hash_with(&random, &mut memory, params).map_err(|e| format!("argon2: {e}"))?;
            times.push(started.elapsed());
        }
        times.sort();
        Ok(times[times.len() / 2])
    }

    /// Working memory of one slot, bytes.
    pub fn memory_per_slot(&self) -> usize {
        self.inner.params.block_count() * Block::SIZE
    }

    /// Argon2id with the configured parameters (by default m=19 MiB, t=2,
    /// p=1: the OWASP minimum), PHC string format.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let params = self.inner.params.clone();
        self.run(move |memory| {
            hash_with(password.as_bytes(), memory, &params).map_err(HashError::Argon2)
        })
        .await?
    }

    /// Whether a stored hash that just verified was made with other
    /// parameters (or another Argon2 variant) than the configured ones: it
    /// is then hashed again at this login.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(stored) = parse_stored(stored) else {
            return false;
        };
        let ours = &self.inner.params;
        stored.algorithm != Algorithm::Argon2id
            || stored.version != Version::V0x13
            || stored.params.m_cost() != ours.m_cost()
            || stored.params.t_cost() != ours.t_cost()
            || stored.params.p_cost() != ours.p_cost()
    }

    /// Verifies against `stored`, or against the dummy when there is no
    /// account, so both take the same time.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let known = stored.is_some();
        // Parsed and bounded here, before a slot is taken. An unusable hash
        // is verified as the dummy: the same time as a wrong password.
        let (target, unusable) = match stored.as_deref().map(parse_stored) {
            Some(Ok(parsed)) => (parsed, None),
            Some(Err(why)) => (self.inner.dummy.clone(), Some(why)),
            None => (self.inner.dummy.clone(), None),
        };
        let matched = self
            .run(move |memory| verify_with(password.as_bytes(), &target, memory))
            .await?;
        if let Some(why) = unusable {
            return Err(HashError::StoredHash(why));
        }
        Ok(known && matched?)
    }

    /// How many hashes and verifications this process has run.
    pub fn runs(&self) -> u64 {
        self.inner.runs.load(Ordering::Relaxed)
    }

    async fn run<T, F>(&self, work: F) -> Result<T, HashError>
    where
        F: FnOnce(&mut [Block]) -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        let permit =
            tokio::time::timeout(inner.queue_budget, inner.permits.clone().acquire_owned())
                .await
                .map_err(|_| HashError::Busy)?
                .map_err(|_| HashError::Busy)?;
        inner.runs.fetch_add(1, Ordering::Relaxed);
        let shared = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut memory = shared.take_memory();
            let result = work(&mut memory);
            shared.give_back(memory);
            result
        })
        .await
        .map_err(HashError::Task)
    }
}

impl Inner {
    fn take_memory(&self) -> Box<[Block]> {
        let idle = self
            .memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        idle.unwrap_or_else(|| new_memory(&self.params))
    }

    fn give_back(&self, memory: Box<[Block]>) {
        self.memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(memory);
    }
}

/// One slot's working memory for `params`.
fn new_memory(params: &Params) -> Box<[Block]> {
    vec![Block::new(); params.block_count()].into_boxed_slice()
}

/// A fresh PHC string for `password`, computed in `memory`.
fn hash_with(password: &[u8], memory: &mut [Block], params: &Params) -> Result<String, String> {
    let text = |e: &dyn std::fmt::Display| e.to_string();
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    rand::fill(&mut salt);
    let mut out = [0u8; OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, memory)
        .map_err(|e| text(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| text(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| text(&e))?),
        hash: Some(Output::new(&out).map_err(|e| text(&e))?),
    };
    Ok(phc.to_string())
}

/// A stored hash, parsed and within bounds: all a verification needs.
#[derive(Clone)]
struct Stored {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Salt,
    expected: Output,
}

/// Parses the PHC string `stored` and checks its parameters against the
/// bounds above; the error says what is wrong, never what the hash holds.
fn parse_stored(stored: &str) -> Result<Stored, &'static str> {
    let phc = PasswordHash::new(stored).map_err(|_| "not a PHC string")?;
    let algorithm =
        Algorithm::try_from(phc.algorithm.as_str()).map_err(|_| "not an Argon2 algorithm")?;
    let version = match phc.version {
        Some(v) => Version::try_from(v).map_err(|_| "unknown Argon2 version")?,
        None => Version::default(),
    };
    let params = Params::try_from(&phc).map_err(|_| "invalid Argon2 parameters")?;
    within_bounds(&params).map_err(|bound| bound.why)?;
    let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
        return Err("no salt or output");
    };
    if salt.len() < argon2::MIN_SALT_LEN {
        return Err("salt too short");
    }
    if expected.len() < Params::MIN_OUTPUT_LEN {
        return Err("output too short");
    }
    Ok(Stored {
        algorithm,
        version,
        params,
        salt,
        expected,
    })
}

/// The Argon2 parameter a bound is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parameter {
    Memory,
    Iterations,
    Lanes,
    /// Memory × iterations.
    Work,
}

/// A parameter beyond what authd verifies, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutOfBounds {
    pub parameter: Parameter,
    pub why: &'static str,
}

/// Whether a verification with `params` stays inside the bounds.
pub(crate) fn within_bounds(params: &Params) -> Result<(), OutOfBounds> {
    let out = |parameter, why| Err(OutOfBounds { parameter, why });
    if params.m_cost() > MAX_STORED_M_COST {
        return out(Parameter::Memory, "memory cost above 256 MiB");
    }
    if params.t_cost() > MAX_STORED_T_COST {
        return out(Parameter::Iterations, "more than 10 iterations");
    }
    if params.p_cost() > MAX_STORED_P_COST {
        return out(Parameter::Lanes, "more than 16 lanes");
    }
    if u64::from(params.m_cost()) * u64::from(params.t_cost()) > MAX_STORED_WORK {
        return out(Parameter::Work, "memory × iterations above 4 × 256 MiB");
    }
    Ok(())
}

/// Whether `password` matches `stored` (its own algorithm, version and
/// parameters), compared in constant time. Argon2 refusing the stored
/// values is an unusable stored hash, not a mismatch.
fn verify_with(password: &[u8], stored: &Stored, memory: &mut [Block]) -> Result<bool, HashError> {
    let refused = HashError::StoredHash("Argon2 refused its salt, output or parameters");
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = out
        .get_mut(..stored.expected.len())
        .ok_or(HashError::StoredHash("output too long"))?;
    let params = &stored.params;
    let argon2 = Argon2::new(stored.algorithm, stored.version, params.clone());
    if params.block_count() <= memory.len() {
        argon2.hash_password_into_with_memory(password, &stored.salt, out, memory)
    } else {
        // A hash made with more memory than today's parameters (within the
        // bounds): rare (parameters only ever go up with a rehash), and
        // freed at once.
        argon2.hash_password_into(password, &stored.salt, out)
    }
    .map_err(|_| refused)?;
    let computed = Output::new(out)
        .map_err(|_| HashError::StoredHash("Argon2 refused its salt, output or parameters"))?;
    Ok(computed == stored.expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(Duration::from_secs(5), 2, Params::default()).unwrap()
    }
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    fn pw(s: &str) -> Password {
        Password::parse(s).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_both_ways_with_the_argon2_crate() {
        let hasher = hasher();
        let ours = hasher.hash(pw("correct horse battery")).await.unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        // The crate's own verifier accepts what we made...
        Argon2::default()
            .verify_password(b"correct horse battery", ours.as_str())
            .unwrap();
        // ...and we accept what the crate makes, and refuse a wrong password.
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        let stored = Some(theirs);
        assert!(hasher
            .verify(pw("correct horse battery"), stored.clone())
            .await
            .unwrap());
        assert!(!hasher
            .verify(pw("correct horse battery!"), stored)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_hash_with_other_parameters_still_verifies() {
        let hasher = hasher();
        let bigger = Params::new(32 * 1024, 1, 1, None).unwrap();
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, bigger)
            .hash_password(b"a longer memory cost")
            .unwrap()
            .to_string();
        assert!(hasher
            .verify(pw("a longer memory cost"), Some(stored))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn unknown_accounts_never_match_and_bad_hashes_are_errors() {
        let hasher = hasher();
        assert!(!hasher.verify(pw("anything at all"), None).await.unwrap());
        assert!(hasher
            .verify(pw("anything at all"), Some("not a phc string".into()))
            .await
            .is_err());
    }

    /// A stored hash whose parameters would hold the hashing slot for
    /// hours is refused at once, with what is wrong and nothing it holds.
    #[tokio::test]
    async fn stored_parameters_outside_the_bounds_are_refused_before_hashing() {
        let hasher = hasher();
        let rest = "c2FsdHNhbHRzYWx0c2FsdA$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
        for params in [
            "m=8,t=4294967295,p=1",
            "m=19456,t=11,p=1",
            "m=8192,t=2,p=17",
            "m=262144,t=1,p=32768",
            "m=262144,t=5,p=1",
            "m=262145,t=1,p=1",
        ] {
            let stored = format!("$argon2id$v=19${params}${rest}");
            let started = std::time::Instant::now();
            let refused = hasher.verify(pw("anything at all"), Some(stored)).await;
            assert!(
                matches!(refused, Err(HashError::StoredHash(_))),
                "{params}: {refused:?}"
            );
            assert!(started.elapsed() < Duration::from_secs(2), "{params}");
            let text = refused.unwrap_err().to_string();
            assert!(!text.contains("c2Fsd") && !text.contains("AAEC"), "{text}");
        }
        // At the bounds: verified (here, no match).
        for params in ["m=128,t=10,p=16", "m=19456,t=2,p=1"] {
            let stored = format!("$argon2id$v=19${params}${rest}");
            assert!(
                !hasher
                    .verify(pw("anything at all"), Some(stored))
                    .await
                    .unwrap(),
                "{params}"
            );
        }
    }

    #[tokio::test]
    async fn memory_blocks_are_reused_not_multiplied() {
        let hasher = hasher();
        let jobs = (0..8).map(|i| {
            let hasher = hasher.clone();
            async move { hasher.hash(pw(&format!("password number {i}"))).await }
        });
        for hashed in futures::future::join_all(jobs).await {
            hashed.unwrap();
        }
        let blocks = hasher.inner.memory.lock().unwrap().len();
        assert!(
            blocks <= hasher.slots(),
            "{blocks} blocks for {} slots",
            hasher.slots()
        );
    }

    #[tokio::test]
    async fn configured_parameters_make_new_hashes_and_others_are_rehashed() {
        let small = Params::new(8192, 3, 1, Some(OUTPUT_LEN)).unwrap();
        let custom = PasswordHasher::new(Duration::from_secs(5), 1, small).unwrap();
        let hash = custom.hash(pw("correct horse battery")).await.unwrap();
        assert!(hash.contains("m=8192,t=3,p=1"), "{hash}");
        assert!(!custom.needs_rehash(&hash));
        assert!(custom
            .verify(pw("correct horse battery"), Some(hash.clone()))
            .await
            .unwrap());
        // The default hasher verifies it with its own parameters, and asks
        // for a rehash with the defaults.
        let default = hasher();
        assert!(default
            .verify(pw("correct horse battery"), Some(hash.clone()))
            .await
            .unwrap());
        assert!(default.needs_rehash(&hash));
        assert!(!default.needs_rehash("not a hash"));
        assert_eq!(custom.memory_per_slot(), 8192 * 1024);
    }
}
