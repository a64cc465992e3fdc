//! The one event sink: a `tracing` subscriber that takes this crate's events (credential
//! events, `-v` detail, the `--debug-auth` trace), masks their fields once, and hands each
//! [`Layer`] the same [`Record`]. Other crates' events are refused at their callsite.

use crate::redact::scrub_secrets;
use serde_json::Value;
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

/// The `tracing` target of credential events (the audit trail's facts).
pub const EVENT_TARGET: &str = "claude::event";
/// The `tracing` target of `-v` detail lines.
pub const DETAIL_TARGET: &str = "claude::detail";
/// The `tracing` target of `--debug-auth` trace lines.
pub const TRACE_TARGET: &str = "claude::trace";

/// The level of every event of the sink. The target, not the level, says what an event is:
/// `max_level_info` (Cargo.toml) compiles out every `debug` and `trace` callsite of the
/// dependencies, which the sink refuses anyway and which would otherwise stay in the binary
/// (~240 KB) once a subscriber can be installed; `info` keeps this crate's own.
pub const LEVEL: Level = Level::INFO;

/// What an event is, from its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Something happened to a credential: shown with `-v`, kept by the audit log.
    Event,
    /// Progress worth a line with `-v`.
    Detail,
    /// A step or HTTP exchange for `--debug-auth`.
    Trace,
}

impl Kind {
    /// The kind of an event with this target; `None` for every other crate's events.
    pub fn of(target: &str) -> Option<Kind> {
        match target {
            EVENT_TARGET => Some(Kind::Event),
            DETAIL_TARGET => Some(Kind::Detail),
            TRACE_TARGET => Some(Kind::Trace),
            _ => None,
        }
    }
}

/// One event as every layer sees it.
///
/// # Security
/// Every string in it (the message and each field) has passed [`scrub_secrets`], so a
/// layer cannot write a credential-shaped value even when a caller passed one by mistake.
/// Control characters are left in: each layer escapes for its own medium.
#[derive(Debug)]
pub struct Record {
    pub kind: Kind,
    /// The event's name: `key_stored`, `logged_in`, … for credential events.
    pub name: &'static str,
    /// The sentence for people.
    pub message: String,
    /// The structured fields, in the order they were given, without the message.
    pub fields: Vec<(&'static str, Value)>,
}

/// Where records go: the text layer for `-v` and `--debug-auth`, the audit log next.
pub trait Layer: Send + Sync + 'static {
    /// Whether this layer takes records of `kind`. Asked when the sink is built and cached
    /// per callsite, so the answer must not change.
    fn wants(&self, kind: Kind) -> bool;

    /// Takes one record. Errors are the layer's own to report: an event is never lost for
    /// the other layers because one of them failed.
    fn on_record(&self, record: &Record);
}

/// The subscriber: a list of layers, installed once per process (see
/// [`super::install`]).
#[derive(Default)]
pub struct Sink {
    layers: Vec<Box<dyn Layer>>,
}

impl Sink {
    /// Adds `layer`, which sees every record after those added before it.
    #[must_use]
    pub fn with(mut self, layer: impl Layer) -> Sink {
        self.layers.push(Box::new(layer));
        self
    }

    /// Whether no layer wants anything: then nothing is worth installing.
    pub fn is_idle(&self) -> bool {
        ![Kind::Event, Kind::Detail, Kind::Trace]
            .into_iter()
            .any(|kind| self.wanted(kind))
    }

    fn wanted(&self, kind: Kind) -> bool {
        self.layers.iter().any(|layer| layer.wants(kind))
    }

    fn takes(&self, meta: &Metadata<'_>) -> bool {
        !meta.is_span() && Kind::of(meta.target()).is_some_and(|kind| self.wanted(kind))
    }
}

impl Subscriber for Sink {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // Dependencies (h2, hyper, zbus, aws-sigv4) trace too, some of them request details:
        // their callsites are switched off here, once, and never reach a layer.
        if self.takes(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        self.takes(meta)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(if self.is_idle() {
            LevelFilter::OFF
        } else {
            LevelFilter::from_level(LEVEL)
        })
    }

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let Some(kind) = Kind::of(meta.target()) else {
            return;
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let record = Record {
            kind,
            name: meta.name(),
            message: fields.message,
            fields: fields.values,
        };
        for layer in self.layers.iter().filter(|layer| layer.wants(kind)) {
            layer.on_record(&record);
        }
    }

    // No span is ever enabled (`takes` refuses them): these are never called with meaning.
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Collects an event's fields, every string masked.
#[derive(Default)]
struct Fields {
    message: String,
    values: Vec<(&'static str, Value)>,
}

impl Fields {
    fn text(&mut self, field: &Field, text: &str) {
        let text = scrub_secrets(text);
        if field.name() == "message" {
            self.message = text;
        } else {
            self.values.push((field.name(), Value::String(text)));
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%x` fields and the message arrive here too, already rendered with `Display`.
        self.text(field, &format!("{value:?}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.values.push((field.name(), Value::from(value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.values.push((field.name(), Value::from(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.values.push((field.name(), Value::from(value)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    const KEY: &str = "sk-ant-api03-TESTKEYAAAAAAAAAAAAAAA-a1A1";

    /// What a test layer kept of a record: kind, name, message, fields as one JSON object.
    type Kept = (Kind, String, String, Value);

    #[derive(Clone, Default)]
    struct Keep {
        kinds: Vec<Kind>,
        kept: Arc<Mutex<Vec<Kept>>>,
    }

    impl Layer for Keep {
        fn wants(&self, kind: Kind) -> bool {
            self.kinds.contains(&kind)
        }
        fn on_record(&self, record: &Record) {
            let fields = record
                .fields
                .iter()
                .map(|(name, value)| ((*name).to_string(), value.clone()))
                .collect();
            self.kept.lock().unwrap().push((
                record.kind,
                record.name.to_string(),
                record.message.clone(),
                Value::Object(fields),
            ));
        }
    }

    fn kept_by(kinds: &[Kind], emit: impl FnOnce()) -> Vec<Kept> {
        let keep = Keep {
            kinds: kinds.to_vec(),
            ..Keep::default()
        };
        let kept = Arc::clone(&keep.kept);
        tracing::subscriber::with_default(Sink::default().with(keep), emit);
        let kept = kept.lock().unwrap().clone();
        kept
    }

    #[test]
    fn fields_and_message_reach_the_layer_typed_and_masked() {
        let kept = kept_by(&[Kind::Event], || {
            tracing::event!(name: "key_stored", target: EVENT_TARGET, LEVEL, at = 7_u64,
                revoked = false, fingerprint = "sk-ant-api03-…a1A1", echoed = KEY,
                "stored {}", KEY);
        });
        assert_eq!(kept.len(), 1);
        let (kind, name, message, fields) = &kept[0];
        assert_eq!((*kind, name.as_str()), (Kind::Event, "key_stored"));
        assert_eq!(message, "stored sk-ant-api03-…a1A1");
        assert_eq!(
            fields,
            &serde_json::json!({ "at": 7, "revoked": false,
                "fingerprint": "sk-ant-api03-…a1A1", "echoed": "sk-ant-api03-…a1A1" })
        );
    }

    #[test]
    fn only_the_kinds_a_layer_wants_reach_it() {
        let kept = kept_by(&[Kind::Detail], || {
            tracing::event!(target: EVENT_TARGET, LEVEL, "an event");
            tracing::event!(target: DETAIL_TARGET, LEVEL, "a detail");
            tracing::event!(target: TRACE_TARGET, LEVEL, "a trace step");
        });
        let messages: Vec<&str> = kept.iter().map(|k| k.2.as_str()).collect();
        assert_eq!(messages, ["a detail"]);
    }

    #[test]
    fn other_crates_events_never_reach_a_layer() {
        let kept = kept_by(&[Kind::Event, Kind::Detail, Kind::Trace], || {
            tracing::info!(target: "h2::codec", "frame");
            tracing::info!("this module's own target");
            let span = tracing::info_span!(target: EVENT_TARGET, "a span");
            let _entered = span.enter();
        });
        assert!(kept.is_empty(), "{kept:?}");
    }

    #[test]
    fn the_crates_own_emitters_reach_the_sink_at_its_level() {
        // A level below `max_level_info` would compile these out without a word.
        let kept = kept_by(&[Kind::Detail, Kind::Trace], || {
            crate::events::detail("a detail");
            assert!(crate::trace::enabled());
            crate::trace::step("a step");
        });
        let messages: Vec<&str> = kept.iter().map(|k| k.2.as_str()).collect();
        assert_eq!(messages, ["a detail", "a step"]);
        kept_by(&[Kind::Detail], || assert!(!crate::trace::enabled()));
    }

    #[test]
    fn a_sink_without_listeners_is_idle() {
        assert!(Sink::default().is_idle());
        let keep = Keep {
            kinds: vec![Kind::Trace],
            ..Keep::default()
        };
        let sink = Sink::default().with(keep);
        assert!(!sink.is_idle());
        assert_eq!(sink.max_level_hint(), Some(LevelFilter::INFO));
    }
}
