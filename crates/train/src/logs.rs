//! [`Logs`]: the named values of a batch or an epoch, in Keras's order; [`History`]: the
//! epochs' logs that `fit` returns.

/// Named values in the order Keras shows them: `loss`, the metrics in `compile`'s order, then
/// `val_loss` and the `val_` metrics, then what callbacks add (`lr`).
///
/// ```
/// use tapegrad_train::Logs;
/// let mut logs = Logs::new();
/// logs.insert("loss", 0.5);
/// logs.insert("mae", 0.25);
/// logs.insert("loss", 0.4);
/// assert_eq!(logs.get("loss"), Some(0.4));
/// assert_eq!(logs.keys().collect::<Vec<_>>(), ["loss", "mae"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Logs {
    entries: Vec<(String, f64)>,
}

impl Logs {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` (in place when present, at the end when new).
    pub fn insert(&mut self, key: &str, value: f64) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(e) => e.1 = value,
            None => self.entries.push((key.to_string(), value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.entries.iter().find(|(k, _)| k == key).map(|e| e.1)
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// `(key, value)` pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What `fit` returns (`keras.callbacks.History`): the epochs run (`epoch`, from
/// `initial_epoch`, counted from 0) and each log's value per epoch (`history["loss"]` is `history.get("loss")`).
///
/// ```
/// use tapegrad_train::{History, Logs};
/// let mut h = History::default();
/// let mut logs = Logs::new();
/// logs.insert("loss", 2.0);
/// h.record(0, &logs);
/// logs.insert("loss", 1.0);
/// h.record(1, &logs);
/// assert_eq!(h.get("loss"), Some(&[2.0, 1.0][..]));
/// assert_eq!(h.epoch, [0, 1]);
/// assert!(h.get("val_loss").is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// The epochs recorded, from 0 (`history.epoch`).
    pub epoch: Vec<usize>,
    /// Each key's values, in the order the keys first appeared.
    pub history: Vec<(String, Vec<f64>)>,
    /// True when the stop flag ended `fit` inside an epoch (that epoch is not recorded).
    pub interrupted: bool,
}

impl History {
    /// Appends an epoch's logs (what Keras's `History.on_epoch_end` does).
    pub fn record(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (k, v) in logs.iter() {
            match self.history.iter_mut().find(|(name, _)| name == k) {
                Some((_, values)) => values.push(v),
                None => self.history.push((k.to_string(), vec![v])),
            }
        }
    }

    /// The values of `key`, one an epoch.
    pub fn get(&self, key: &str) -> Option<&[f64]> {
        (self.history.iter())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(|(k, _)| k.as_str())
    }

    /// The number of epochs recorded.
    pub fn len(&self) -> usize {
        self.epoch.len()
    }

    /// True before any epoch was recorded.
    pub fn is_empty(&self) -> bool {
        self.epoch.is_empty()
    }
}
