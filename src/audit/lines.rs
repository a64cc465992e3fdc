//! Reading `audit.log` one line at a time with a cap on a line's length: a line longer than
//! [`MAX_LINE`] is skipped, never held in memory (an audit line is a few hundred bytes; a
//! multi-gigabyte "line" is damage or an attack on the reader).

use std::io::BufRead;

/// The longest line read: far above any line this log writes (~400 bytes).
pub const MAX_LINE: usize = 64 * 1024;

/// What [`next`] read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    /// The end of the file: nothing was read.
    Eof,
    /// A whole line, in the buffer without its `\n`.
    Whole,
    /// The last line, without an end of line (in the buffer).
    Torn,
    /// A line longer than [`MAX_LINE`]: skipped through its end, the buffer left empty.
    TooLong,
}

/// Reads the next line of `reader` into `buf` (cleared first), at most [`MAX_LINE`] bytes of
/// it; the rest of a longer line is read past, never kept.
///
/// # Errors
/// The reader's.
pub fn next(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Line> {
    next_capped(reader, buf, MAX_LINE)
}

fn next_capped(reader: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    buf.clear();
    let (mut any, mut too_long) = (false, false);
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if chunk.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => Line::Eof,
                (true, true) => Line::TooLong,
                (true, false) => Line::Torn,
            });
        }
        any = true;
        let end = memchr::memchr(b'\n', chunk);
        let part = &chunk[..end.unwrap_or(chunk.len())];
        if !too_long {
            if buf.len() + part.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = end.map_or(chunk.len(), |at| at + 1);
        reader.consume(used);
        if end.is_some() {
            return Ok(if too_long { Line::TooLong } else { Line::Whole });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    #[test]
    fn lines_are_read_whole_torn_or_skipped_when_too_long() {
        let text = format!("ab\n{}\ncd\nef", "x".repeat(50));
        // A tiny buffer: lines span many reads.
        let mut reader = BufReader::with_capacity(4, text.as_bytes());
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        loop {
            let line = next_capped(&mut reader, &mut buf, 10).unwrap();
            if line == Line::Eof {
                break;
            }
            seen.push((line, String::from_utf8(buf.clone()).unwrap()));
        }
        assert_eq!(
            seen,
            [
                (Line::Whole, "ab".to_string()),
                (Line::TooLong, String::new()),
                (Line::Whole, "cd".to_string()),
                (Line::Torn, "ef".to_string()),
            ]
        );
        let mut empty: &[u8] = b"";
        assert_eq!(next(&mut empty, &mut buf).unwrap(), Line::Eof);
    }
}
