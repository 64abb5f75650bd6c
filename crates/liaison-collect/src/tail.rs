//! Following a growing log file across runs: where reading stopped, and whether the
//! file was rotated or truncated since.

use serde::{Deserialize, Serialize};

/// Where reading a file stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TailState {
    /// The file's inode (device-local identity) when last read; 0 when unknown.
    pub inode: u64,
    /// Bytes consumed: always just after a newline, so a half-written line is read
    /// again whole next time.
    pub offset: u64,
}

/// What to read now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Read from this offset (nothing new when it equals the size).
    From(u64),
    /// The file was replaced (rotation) or truncated: read from the start.
    Restart,
}

impl TailState {
    /// Decide where to read, given the file's current inode and size.
    pub fn plan(&self, inode: u64, size: u64) -> Plan {
        if (self.inode != 0 && inode != self.inode) || size < self.offset {
            Plan::Restart
        } else {
            Plan::From(self.offset)
        }
    }

    /// How far a chunk read from `start` may be consumed: up to its last newline.
    /// Returns the bytes to hand to the parser and the new state.
    pub fn consume(inode: u64, start: u64, chunk: &[u8]) -> (&[u8], TailState) {
        let end = chunk.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        (
            &chunk[..end],
            TailState {
                inode,
                offset: start + end as u64,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_lines_wait_rotation_restarts() {
        let (done, st) = TailState::consume(7, 0, b"a\nb\nhalf");
        assert_eq!(done, b"a\nb\n");
        assert_eq!(st.offset, 4);
        assert_eq!(st.plan(7, 8), Plan::From(4));
        assert_eq!(st.plan(8, 100), Plan::Restart);
        assert_eq!(st.plan(7, 2), Plan::Restart);
    }
}
