//! Signing keys on disk, for apps that sign with a given key and tests that
//! forge tokens with the app's own key.

use std::path::PathBuf;
use std::sync::OnceLock;

use authd::jwt::generate_private_key_pem;
use authd::jwt::JwtAlgorithm;

/// A signing key file for tests that forge tokens with the app's own key.
pub struct KeyFile {
    pub pem: String,
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl KeyFile {
    pub fn generate(alg: JwtAlgorithm) -> Self {
        let pem = generate_private_key_pem(alg).expect("keygen");
        Self::from_pem(pem)
    }

    pub fn from_pem(pem: String) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key.pem");
        std::fs::write(&path, &pem).expect("write key");
        Self {
            pem,
            path,
            _dir: dir,
        }
    }
}

/// The EdDSA key most tests sign with; generated once per test binary.
pub fn shared_key() -> &'static KeyFile {
    static KEY: OnceLock<KeyFile> = OnceLock::new();
    KEY.get_or_init(|| KeyFile::generate(JwtAlgorithm::EdDSA))
}
