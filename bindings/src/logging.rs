//! The core's logs on the platform's log: [`init_platform`] installs a tracing subscriber
//! that hands every event at the chosen level or above to the shell's [`LogSink`] (logcat
//! on Android, os_log on iOS). The core's logs carry no secrets (no token, card data or
//! image bytes; its tests check that), so the sink may write them where the platform keeps
//! logs.

use std::fmt::Write as _;
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

use crate::PalmKitError;

/// How much to log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Failures only.
    Error,
    /// And what looks wrong.
    Warn,
    /// And each step (the default for QA builds).
    Info,
    /// And detail for debugging.
    Debug,
    /// Everything.
    Trace,
}

impl From<LogLevel> for LevelFilter {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Error => Self::ERROR,
            LogLevel::Warn => Self::WARN,
            LogLevel::Info => Self::INFO,
            LogLevel::Debug => Self::DEBUG,
            LogLevel::Trace => Self::TRACE,
        }
    }
}

/// Where the core's logs go, implemented by the shell. Called on the thread that logged
/// (any): write and return.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One event: its level, its target (the core module, `palmkit_core::enrollment`) and
    /// its message with its fields (`capture uploaded upload=… bytes=…`).
    fn log(&self, level: LogLevel, target: String, message: String);
}

/// Sends the core's logs at `level` and above to `sink`, for the life of the process. A
/// second call is `InvalidConfig`: the first sink stays.
#[uniffi::export]
pub fn init_platform(level: LogLevel, sink: Arc<dyn LogSink>) -> Result<(), PalmKitError> {
    let subscriber = tracing_subscriber::registry()
        .with(SinkLayer { sink }.with_filter(LevelFilter::from(level)));
    tracing::subscriber::set_global_default(subscriber).map_err(|_| PalmKitError::InvalidConfig {
        reason: "init_platform was already called in this process".into(),
    })
}

struct SinkLayer {
    sink: Arc<dyn LogSink>,
}

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let level = match *metadata.level() {
            tracing::Level::ERROR => LogLevel::Error,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::INFO => LogLevel::Info,
            tracing::Level::DEBUG => LogLevel::Debug,
            tracing::Level::TRACE => LogLevel::Trace,
        };
        let mut message = Message::default();
        event.record(&mut message);
        self.sink
            .log(level, metadata.target().to_string(), message.finish());
    }
}

/// The event's message, then its fields as `name=value`.
#[derive(Default)]
struct Message {
    text: String,
    fields: String,
}

impl Message {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.text
        } else {
            format!("{}{}", self.text, self.fields)
        }
    }
}

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.text.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.text, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A fake platform log that keeps what it is given.
    #[derive(Default)]
    struct FakeSink(Mutex<Vec<(LogLevel, String, String)>>);

    impl LogSink for FakeSink {
        fn log(&self, level: LogLevel, target: String, message: String) {
            self.0.lock().unwrap().push((level, target, message));
        }
    }

    #[test]
    fn events_at_the_level_reach_the_sink_with_their_fields() {
        let sink = Arc::new(FakeSink::default());
        let subscriber = tracing_subscriber::registry()
            .with(SinkLayer { sink: sink.clone() }.with_filter(LevelFilter::INFO));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(upload = %"up-1", bytes = 42, "capture uploaded");
            tracing::debug!("not at this level");
            tracing::warn!("plain");
        });
        let seen = sink.0.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].0, LogLevel::Info);
        assert_eq!(seen[0].2, "capture uploaded upload=up-1 bytes=42");
        assert!(seen[0].1.contains("logging"), "{}", seen[0].1);
        assert_eq!((seen[1].0, seen[1].2.as_str()), (LogLevel::Warn, "plain"));
    }
}
