// SPDX-License-Identifier: GPL-2.0
//! File provenance: the session that created a file, from the `security.agent_session` and
//! `security.agent_intent` extended attributes the kernel's `agentns` LSM sets when a task in
//! a session creates it.

use std::ffi::CStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::session::SessionId;
use crate::uapi;

/// A file's label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Label {
    /// The session whose task created the file.
    pub session: SessionId,
    /// That session's intent tag when the file was created; `None` when it had none.
    pub intent: Option<String>,
}

/// Reads one xattr of `path` without following a final symlink: `Ok(None)` when it is not set
/// or the file system has no xattrs.
fn get(path: &Path, c: &CStr, name: &str) -> Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 256];
    match rustix::fs::lgetxattr(c, name, &mut buf[..]) {
        Ok(n) => {
            buf.truncate(n);
            Ok(Some(buf))
        }
        Err(e) if matches!(e.raw_os_error(), libc::ENODATA | libc::EOPNOTSUPP) => Ok(None),
        Err(e) => Err(Error::Io {
            path: path.to_path_buf(),
            source: e.into(),
        }),
    }
}

/// Reads the label of `path` (of a symlink itself, not its target): `Ok(None)` for a file no
/// task in a session created, or one on a file system without security xattrs.
pub fn label(path: &Path) -> Result<Option<Label>> {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::Invalid(format!("{}: NUL in path", path.display())))?;
    let Some(id) = get(path, &c, uapi::XATTR_NAME_AGENT_SESSION)? else {
        return Ok(None);
    };
    let id: [u8; uapi::ID_BYTES] = id.as_slice().try_into().map_err(|_| Error::Format {
        path: path.to_path_buf(),
        detail: format!(
            "{} is {} bytes, not {}",
            uapi::XATTR_NAME_AGENT_SESSION,
            id.len(),
            uapi::ID_BYTES
        ),
    })?;
    let intent = get(path, &c, uapi::XATTR_NAME_AGENT_INTENT)?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    Ok(Some(Label {
        session: SessionId(id),
        intent,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unlabelled_file_has_no_label() {
        // The host's files were not created in a session (or the host has no such LSM).
        let dir = std::env::temp_dir();
        let p = dir.join(format!("agentns-provenance-{}", std::process::id()));
        std::fs::write(&p, b"x").unwrap();
        let r = label(&p);
        std::fs::remove_file(&p).unwrap();
        assert_eq!(r.unwrap(), None);
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let e = label(Path::new("/nonexistent/agentns")).unwrap_err();
        assert_eq!(e.errno(), Some(libc::ENOENT), "{e}");
    }
}
