// SPDX-License-Identifier: GPL-2.0

//! Session ids.

use crate::{bindings, fmt};

/// Number of bytes in a session id (`AGENT_NS_ID_BYTES`).
pub const ID_BYTES: usize = bindings::AGENT_NS_ID_BYTES as usize;

/// The opaque 128-bit id of an agent session.
///
/// The initial session's id is all zeros; every other session gets a random id that is never all
/// zeros, so a zero id always means "not in any session a supervisor created".
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SessionId(pub [u8; ID_BYTES]);

impl SessionId {
    /// The id of the initial session.
    pub const ZERO: Self = Self([0; ID_BYTES]);

    /// Returns a fresh random id that is not [`SessionId::ZERO`].
    ///
    /// Two `get_random_u64()` calls: the same crng output as `get_random_bytes()`, taken from the
    /// per-CPU batch, so that a session's creation does not run a ChaCha block of its own.
    pub fn random() -> Self {
        let mut id = Self::ZERO;
        // A zero result has probability 2^-128; the loop only makes the invariant unconditional.
        while id.is_zero() {
            for half in id.0.chunks_exact_mut(8) {
                // SAFETY: `get_random_u64()` may be called from any context.
                half.copy_from_slice(&unsafe { bindings::get_random_u64() }.to_ne_bytes());
            }
        }
        id
    }

    /// Returns whether this is the initial session's id.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }
}

/// Formats the id as 32 lowercase hexadecimal digits, most significant byte first.
impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[macros::kunit_tests(rust_agent_ns_id)]
mod tests {
    use super::SessionId;
    use crate::{prelude::*, str::CString};

    #[test]
    fn zero_id_is_zero() {
        assert!(SessionId::ZERO.is_zero());
        assert!(!SessionId([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).is_zero());
    }

    #[test]
    fn random_ids_are_nonzero_and_distinct() {
        let a = SessionId::random();
        let b = SessionId::random();
        assert!(!a.is_zero());
        assert!(!b.is_zero());
        assert_ne!(a, b);
    }

    #[test]
    fn display_is_32_lowercase_hex_digits() -> Result {
        let id = SessionId([
            0x00, 0x01, 0x0a, 0xff, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0,
            0xb0, 0xcd,
        ]);
        let s = CString::try_from_fmt(fmt!("{id}"))?;
        assert_eq!(s.to_bytes(), b"00010aff102030405060708090a0b0cd");
        let z = CString::try_from_fmt(fmt!("{}", SessionId::ZERO))?;
        assert_eq!(z.to_bytes(), b"00000000000000000000000000000000");
        Ok(())
    }
}
