//! IETF Token Status List (draft-ietf-oauth-status-list-20) codec: the packed status array
//! (§4.1, LSB first), its ZLIB + base64url `lst` encoding (§4.2), the status type values (§7)
//! and the referenced token's `status.status_list {idx, uri}` claim (§6.2).
//!
//! Conformance: T1 (bits, packing, ZLIB), T2 (`{bits, lst}`), T3 (`idx`/`uri`, status values),
//! T5 (out-of-range `idx` is an error). The signed token lives in `status_list_token`.

use serde::{Deserialize, Serialize};

use super::compression::{
    self, Container, DEFAULT_MAX_DECOMPRESSED_BYTES, InflateError, b64url_decode, b64url_encode,
};

/// Errors of the Token Status List codec.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TslError {
    /// `bits` is not one of 1, 2, 4, 8 (T1, §4.1 step 1).
    #[error("T1: bits must be 1, 2, 4 or 8, got {0}")]
    InvalidBits(u64),
    /// The index does not address an entry of the list (T5, §8.3 step 6).
    #[error("T5: index {index} is out of range for a list of {len} entries")]
    IndexOutOfRange {
        /// The requested index.
        index: u64,
        /// Number of entries the list holds.
        len: u64,
    },
    /// The value does not fit in `bits` bits (§7).
    #[error("T1: status value {value} does not fit in {bits} bits")]
    ValueTooLarge {
        /// The value that was to be stored.
        value: u8,
        /// Bits per entry of the list.
        bits: u8,
    },
    /// `lst` is not unpadded base64url (T2, §4.2).
    #[error("T2: lst is not unpadded base64url: {0}")]
    Base64(String),
    /// `lst` is not a valid ZLIB stream (T1, §4.1 step 4).
    #[error("T1: lst is not a valid ZLIB/DEFLATE stream: {0}")]
    Decompression(String),
    /// `lst` inflates past the size cap (decompression bomb).
    #[error("lst inflates past the limit of {limit} bytes")]
    DecompressedTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The referenced token's `status_list.uri` is not an absolute URI (T3, §6.2).
    #[error("T3: status_list.uri is not a URI: {0}")]
    InvalidUri(String),
}

impl From<InflateError> for TslError {
    fn from(e: InflateError) -> Self {
        match e {
            InflateError::Corrupt(m) => TslError::Decompression(m),
            InflateError::TooLarge { limit } => TslError::DecompressedTooLarge { limit },
        }
    }
}

/// Bits per entry of a Token Status List (§4.1: 1, 2, 4 or 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusBits {
    /// 1 bit: VALID / INVALID.
    One,
    /// 2 bits: adds SUSPENDED and one application-specific value.
    Two,
    /// 4 bits.
    Four,
    /// 8 bits.
    Eight,
}

impl StatusBits {
    /// The number of bits, 1, 2, 4 or 8.
    pub fn get(self) -> u8 {
        match self {
            StatusBits::One => 1,
            StatusBits::Two => 2,
            StatusBits::Four => 4,
            StatusBits::Eight => 8,
        }
    }

    /// Largest value an entry can hold (`2^bits - 1`).
    pub fn max_value(self) -> u8 {
        match self {
            StatusBits::One => 0x01,
            StatusBits::Two => 0x03,
            StatusBits::Four => 0x0F,
            StatusBits::Eight => 0xFF,
        }
    }

    /// Entries per byte (8 / bits).
    pub fn per_byte(self) -> usize {
        usize::from(8 / self.get())
    }
}

impl TryFrom<u64> for StatusBits {
    type Error = TslError;
    fn try_from(v: u64) -> Result<Self, TslError> {
        match v {
            1 => Ok(StatusBits::One),
            2 => Ok(StatusBits::Two),
            4 => Ok(StatusBits::Four),
            8 => Ok(StatusBits::Eight),
            other => Err(TslError::InvalidBits(other)),
        }
    }
}

impl TryFrom<u8> for StatusBits {
    type Error = TslError;
    fn try_from(v: u8) -> Result<Self, TslError> {
        StatusBits::try_from(u64::from(v))
    }
}

impl Serialize for StatusBits {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.get())
    }
}

impl<'de> Deserialize<'de> for StatusBits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        StatusBits::try_from(v).map_err(serde::de::Error::custom)
    }
}

/// A status value of a referenced token (§7.1, T3). Anything but [`StatusType::Valid`] must be
/// treated as "do not accept" by callers; [`StatusType::Unknown`] in particular is a deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusType {
    /// 0x00: valid.
    Valid,
    /// 0x01: revoked / invalid.
    Invalid,
    /// 0x02: temporarily suspended.
    Suspended,
    /// 0x03 or 0x0C–0x0F: application specific.
    ApplicationSpecific(u8),
    /// Any other value, reserved for future registration.
    Unknown(u8),
}

impl StatusType {
    /// The numeric value stored in the list.
    pub fn value(self) -> u8 {
        match self {
            StatusType::Valid => 0x00,
            StatusType::Invalid => 0x01,
            StatusType::Suspended => 0x02,
            StatusType::ApplicationSpecific(v) | StatusType::Unknown(v) => v,
        }
    }

    /// True only for VALID; everything else (including unknown values) is a deny.
    pub fn is_valid(self) -> bool {
        self == StatusType::Valid
    }
}

impl From<u8> for StatusType {
    fn from(v: u8) -> Self {
        match v {
            0x00 => StatusType::Valid,
            0x01 => StatusType::Invalid,
            0x02 => StatusType::Suspended,
            0x03 | 0x0C..=0x0F => StatusType::ApplicationSpecific(v),
            other => StatusType::Unknown(other),
        }
    }
}

/// An uncompressed Token Status List: `bits` per entry packed LSB first (§4.1 step 3), so index
/// 0 is the least significant `bits` of byte 0.
///
/// The list holds `bytes.len() * 8 / bits` entries; a list built with [`StatusList::new`] is
/// rounded up to whole bytes, the extra entries being VALID (0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: StatusBits,
    bytes: Vec<u8>,
}

impl StatusList {
    /// A list of at least `len` entries, all VALID.
    pub fn new(bits: StatusBits, len: usize) -> Self {
        Self {
            bits,
            bytes: vec![0; len.div_ceil(bits.per_byte())],
        }
    }

    /// A list over an already packed byte array.
    pub fn from_bytes(bits: StatusBits, bytes: Vec<u8>) -> Self {
        Self { bits, bytes }
    }

    /// Bits per entry.
    pub fn bits(&self) -> StatusBits {
        self.bits
    }

    /// The packed (uncompressed) byte array.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of entries the list holds.
    pub fn len(&self) -> u64 {
        // usize -> u64 never loses on supported targets; saturate rather than panic.
        u64::try_from(self.bytes.len())
            .unwrap_or(u64::MAX)
            .saturating_mul(self.bits.per_byte() as u64)
    }

    /// True when the list holds no entry.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// (byte position, bit shift) of entry `index`, or an out-of-range error (T5).
    fn locate(&self, index: u64) -> Result<(usize, u32), TslError> {
        let out_of_range = || TslError::IndexOutOfRange {
            index,
            len: self.len(),
        };
        let per_byte = self.bits.per_byte();
        let i = usize::try_from(index).map_err(|_| out_of_range())?;
        let byte = i / per_byte;
        if byte >= self.bytes.len() {
            return Err(out_of_range());
        }
        // (i % per_byte) < 8 and bits <= 8, so the shift is at most 7.
        let shift = u32::try_from((i % per_byte) * usize::from(self.bits.get())).unwrap_or(0);
        Ok((byte, shift))
    }

    /// The raw value of entry `index`.
    pub fn get(&self, index: u64) -> Result<u8, TslError> {
        let (byte, shift) = self.locate(index)?;
        let v = self.bytes.get(byte).copied().unwrap_or(0);
        Ok((v >> shift) & self.bits.max_value())
    }

    /// The status of entry `index` (§7).
    pub fn status(&self, index: u64) -> Result<StatusType, TslError> {
        self.get(index).map(StatusType::from)
    }

    /// Sets entry `index` to `value`; `value` must fit in `bits`.
    pub fn set(&mut self, index: u64, value: u8) -> Result<(), TslError> {
        if value > self.bits.max_value() {
            return Err(TslError::ValueTooLarge {
                value,
                bits: self.bits.get(),
            });
        }
        let (byte, shift) = self.locate(index)?;
        let mask = self.bits.max_value() << shift;
        if let Some(b) = self.bytes.get_mut(byte) {
            *b = (*b & !mask) | (value << shift);
        }
        Ok(())
    }

    /// Sets entry `index` to a status type (its value must fit in `bits`).
    pub fn set_status(&mut self, index: u64, status: StatusType) -> Result<(), TslError> {
        self.set(index, status.value())
    }

    /// DEFLATE in ZLIB format at the best compression level (§4.1 step 4, T1).
    pub fn compress(&self) -> Vec<u8> {
        compression::compress(Container::Zlib, &self.bytes)
    }

    /// The `lst` member: base64url, no padding, of the compressed bytes (§4.2, T2).
    pub fn to_lst(&self) -> String {
        b64url_encode(&self.compress())
    }

    /// The JSON `StatusList` object `{bits, lst}` (§4.2).
    pub fn to_json(&self) -> StatusListJson {
        StatusListJson {
            bits: self.bits,
            lst: self.to_lst(),
            aggregation_uri: None,
        }
    }

    /// Decodes an `lst` with the default decompression cap
    /// ([`DEFAULT_MAX_DECOMPRESSED_BYTES`]).
    pub fn from_lst(bits: StatusBits, lst: &str) -> Result<Self, TslError> {
        Self::from_lst_with_limit(bits, lst, DEFAULT_MAX_DECOMPRESSED_BYTES)
    }

    /// Decodes an `lst`, refusing one that inflates past `max_bytes`.
    pub fn from_lst_with_limit(
        bits: StatusBits,
        lst: &str,
        max_bytes: usize,
    ) -> Result<Self, TslError> {
        let compressed = b64url_decode(lst).map_err(|e| TslError::Base64(e.to_string()))?;
        let bytes = compression::decompress(Container::Zlib, &compressed, max_bytes)?;
        Ok(Self { bits, bytes })
    }
}

/// The JSON `StatusList` structure (§4.2): `{bits, lst, aggregation_uri?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListJson {
    /// Bits per entry (1, 2, 4, 8).
    pub bits: StatusBits,
    /// base64url (no padding) of the ZLIB-compressed byte array.
    pub lst: String,
    /// Optional URI of a Status List Aggregation (§9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation_uri: Option<String>,
}

impl StatusListJson {
    /// Decodes `lst` with the default decompression cap.
    pub fn decode(&self) -> Result<StatusList, TslError> {
        StatusList::from_lst(self.bits, &self.lst)
    }

    /// Decodes `lst`, refusing one that inflates past `max_bytes`.
    pub fn decode_with_limit(&self, max_bytes: usize) -> Result<StatusList, TslError> {
        StatusList::from_lst_with_limit(self.bits, &self.lst, max_bytes)
    }
}

/// The referenced token's `status_list` member (§6.2, T3): which list, which index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListReference {
    /// Non-negative index of the token in the list.
    pub idx: u64,
    /// URI of the Status List Token; must equal that token's `sub`.
    pub uri: String,
}

impl StatusListReference {
    /// Checks that `uri` is an absolute URI (RFC 3986).
    pub fn validate(&self) -> Result<(), TslError> {
        url::Url::parse(&self.uri)
            .map(|_| ())
            .map_err(|e| TslError::InvalidUri(e.to_string()))
    }
}

/// The referenced token's `status` claim (§6.2): `{"status_list": {"idx": .., "uri": ..}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusClaim {
    /// The Token Status List reference.
    pub status_list: StatusListReference,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn t1_packing_is_lsb_first() {
        let mut l = StatusList::new(StatusBits::Two, 4);
        l.set(0, 1).unwrap();
        l.set(3, 3).unwrap();
        assert_eq!(l.as_bytes(), &[0b1100_0001]);
    }

    #[test]
    fn new_rounds_up_to_whole_bytes() {
        let l = StatusList::new(StatusBits::One, 9);
        assert_eq!(l.as_bytes().len(), 2);
        assert_eq!(l.len(), 16);
    }
}
