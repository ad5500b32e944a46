// SPDX-License-Identifier: GPL-2.0

//! Intent tags: a short, printable label a session carries ("refactor-auth", "ticket-4711").
//!
//! The tag belongs to the session, not to a task: any task of the session may set it, and every
//! task of the session reads the same tag. A new session starts with an empty tag.

use crate::{
    bindings,
    prelude::*,
    uaccess::{UserPtr, UserSlice},
};

/// Longest tag, not counting the terminating NUL.
pub const MAX_LEN: usize = bindings::AGENT_NS_INTENT_MAX as usize;

/// An intent tag.
///
/// # Invariants
///
/// `buf` holds at most [`MAX_LEN`] printable ASCII bytes (`0x20..=0x7e`) followed by NUL bytes up
/// to its end, so it always holds a NUL-terminated string.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IntentTag {
    buf: [u8; MAX_LEN + 1],
}

impl IntentTag {
    /// The empty tag, which every session starts with.
    pub const EMPTY: Self = Self {
        buf: [0; MAX_LEN + 1],
    };

    /// Creates a tag from `bytes` (without a NUL): `EINVAL` if it is longer than [`MAX_LEN`] or
    /// has a byte that is not printable ASCII.
    pub fn new(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_LEN || !bytes.iter().all(|b| (0x20..=0x7e).contains(b)) {
            return Err(EINVAL);
        }
        let mut buf = [0; MAX_LEN + 1];
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(Self { buf })
    }

    /// Reads a NUL-terminated tag from user memory at `addr`: `EFAULT` if the string is not
    /// readable up to its NUL or to `MAX_LEN + 1` bytes, `EINVAL` if it is not a valid tag.
    pub fn from_user(addr: usize) -> Result<Self> {
        // One byte more than a tag with its NUL can have, to tell a too-long string from a
        // maximal one.
        let mut buf = [0u8; MAX_LEN + 2];
        let s = UserSlice::new(UserPtr::from_addr(addr), buf.len())
            .reader()
            .strcpy_into_buf(&mut buf)?;
        Self::new(s.to_bytes())
    }

    /// Returns the tag's bytes, without the NUL.
    pub fn as_bytes(&self) -> &[u8] {
        let len = self.buf.iter().position(|&b| b == 0).unwrap_or(MAX_LEN);
        &self.buf[..len]
    }

    /// Returns the tag as a C string.
    pub fn as_cstr(&self) -> &CStr {
        // By the type invariant, `buf` holds a NUL and no byte before it is NUL.
        CStr::from_bytes_until_nul(&self.buf).unwrap_or(c"")
    }

    /// Returns the tag NUL-padded to `MAX_LEN + 1` bytes, as `PR_GET_AGENT_INTENT_TAG` copies
    /// it out.
    pub fn padded(&self) -> &[u8; MAX_LEN + 1] {
        &self.buf
    }
}

#[macros::kunit_tests(rust_agent_ns_intent)]
mod tests {
    use super::{IntentTag, MAX_LEN};
    use crate::prelude::*;

    #[test]
    fn accepts_printable_ascii_up_to_the_limit() -> Result {
        let longest = [b'~'; MAX_LEN];
        let tag = IntentTag::new(&longest)?;
        assert_eq!(tag.as_bytes(), &longest[..]);
        assert_eq!(tag.padded()[MAX_LEN], 0);
        assert_eq!(
            IntentTag::new(b" fix bug #12 ")?.as_cstr(),
            c" fix bug #12 "
        );
        assert!(IntentTag::new(b"")? == IntentTag::EMPTY);
        Ok(())
    }

    #[test]
    fn refuses_long_or_unprintable_tags() {
        assert_eq!(IntentTag::new(&[b'a'; MAX_LEN + 1]).err(), Some(EINVAL));
        for bad in [0x01u8, 0x09, 0x1f, 0x7f, 0x80, 0xff] {
            assert_eq!(IntentTag::new(&[b'a', bad]).err(), Some(EINVAL));
        }
    }
}
