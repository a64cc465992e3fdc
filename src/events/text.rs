//! The text layer: `-v` and `--debug-auth` lines on stderr, one per record, printed with
//! [`output::notice`] (control characters escaped; the sink has already masked credentials).

use super::sink::{Kind, Layer, Record};
use crate::output;

/// Renders records for people.
#[derive(Clone, Copy, Debug)]
pub struct TextLayer {
    /// `-v`: credential events and detail lines.
    pub verbose: bool,
    /// `--debug-auth`: the trace, and everything `-v` shows, since it asks for the most.
    pub trace: bool,
}

impl TextLayer {
    /// The line `record` is shown as: trace lines start with `debug: ` (so a pasted trace is
    /// recognisable), the rest are plain sentences.
    pub fn line(record: &Record) -> String {
        match record.kind {
            Kind::Trace => format!("debug: {}", record.message),
            Kind::Event | Kind::Detail => record.message.clone(),
        }
    }
}

impl Layer for TextLayer {
    fn wants(&self, kind: Kind) -> bool {
        match kind {
            Kind::Event | Kind::Detail => self.verbose || self.trace,
            Kind::Trace => self.trace,
        }
    }

    fn on_record(&self, record: &Record) {
        output::notice(&TextLayer::line(record));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: Kind, message: &str) -> Record {
        Record {
            kind,
            name: "test",
            message: message.to_string(),
            fields: Vec::new(),
        }
    }

    #[test]
    fn trace_lines_are_marked_and_the_rest_are_sentences() {
        assert_eq!(
            TextLayer::line(&record(Kind::Trace, "→ GET https://x.example/v1/models")),
            "debug: → GET https://x.example/v1/models"
        );
        assert_eq!(
            TextLayer::line(&record(Kind::Event, "key sk-ant-api03-…a1A1 stored")),
            "key sk-ant-api03-…a1A1 stored"
        );
    }

    #[test]
    fn verbose_shows_events_and_details_and_debug_auth_shows_everything() {
        let verbose = TextLayer {
            verbose: true,
            trace: false,
        };
        assert!(verbose.wants(Kind::Event) && verbose.wants(Kind::Detail));
        assert!(!verbose.wants(Kind::Trace));
        let debug = TextLayer {
            verbose: false,
            trace: true,
        };
        assert!(debug.wants(Kind::Event) && debug.wants(Kind::Detail) && debug.wants(Kind::Trace));
        let quiet = TextLayer {
            verbose: false,
            trace: false,
        };
        assert!(!quiet.wants(Kind::Event) && !quiet.wants(Kind::Detail));
    }
}
