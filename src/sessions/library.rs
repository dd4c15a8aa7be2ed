//! The session scripts as one Redis Functions library: the shared helpers
//! and the old-layout reader are defined once when it loads, and each
//! script's body is a function (`FCALL`).

use std::sync::Arc;

use crate::connections::Library;

const COMMON: &str = include_str!("scripts/common.lua");
/// Reading sessions of the layout before compact fields; see the file's
/// head for when it is deleted.
const UPGRADE: &str = include_str!("scripts/upgrade.lua");

/// The session scripts as one Redis Functions library: the shared helpers
/// and the old-layout reader are defined once when it loads, and each
/// script's body is a function (`FCALL`). The lifetimes every rotation
/// uses are constants of the library (each argument costs a rotation
/// about 1% of its Redis time), so instances with other settings load
/// a library of their own name.
pub(super) fn library(idle_ms: u64, grace_ms: u64) -> Arc<Library> {
    let settings = format!(
        "-- AUTHD_REFRESH_TOKEN_TTL and AUTHD_REFRESH_REUSE_GRACE, in ms.\n\
         local IDLE_MS, GRACE_MS = {idle_ms}, {grace_ms}\n"
    );
    Library::new(
        "authd_sessions",
        &format!("{settings}{COMMON}{UPGRADE}"),
        &[
            ("create", include_str!("scripts/create.lua")),
            ("rotate", include_str!("scripts/rotate.lua")),
            ("revoke", include_str!("scripts/revoke.lua")),
            ("revoke_all", include_str!("scripts/revoke_all.lua")),
            ("list", include_str!("scripts/list.lua")),
            ("inspect", include_str!("scripts/inspect.lua")),
            ("mark_verified", include_str!("scripts/mark_verified.lua")),
        ],
    )
}
