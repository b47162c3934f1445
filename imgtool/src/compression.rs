//! Telling a compressed tar from a plain one by its first bytes, as
//! `docker import` and `docker load` do (gzip(1), zstd(1), xz(1)).
//!
//! Each format starts with a magic number: gzip `1f 8b`, zstd
//! `28 b5 2f fd`, xz `fd 37 7a 58 5a 00`. A plain tar has none of them (its
//! first bytes are the first entry's name). The stream is peeked, not
//! consumed, so the decoder sees it whole.

use std::io::{self, BufRead, Read};

/// How a stream is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Xz,
}

impl Compression {
    /// The format `input` starts with, peeking at its first bytes. An
    /// empty stream is an error: an empty file is not an empty image.
    pub fn detect(input: &mut impl BufRead) -> io::Result<Compression> {
        let head = input.fill_buf()?;
        if head.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file is empty"));
        }
        Ok(if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Compression::Xz
        } else {
            Compression::None
        })
    }

    /// A reader of `input`'s uncompressed bytes.
    pub fn decoder<'a>(self, input: impl BufRead + 'a) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Compression::None => Box::new(input),
            // Multi-member: `cat a.gz b.gz` is one valid gzip stream.
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
            Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(input)),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
        }
    }
}

/// Detects `input`'s compression and returns a reader of its tar.
pub fn open<'a>(mut input: impl BufRead + 'a) -> io::Result<(Compression, Box<dyn Read + 'a>)> {
    let kind = Compression::detect(&mut input)?;
    Ok((kind, kind.decoder(input)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn roundtrip(kind: Compression, packed: Vec<u8>) {
        let (found, mut reader) = open(&packed[..]).unwrap();
        assert_eq!(found, kind);
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello tar");
    }

    #[test]
    fn each_format_is_told_by_its_magic_and_decoded() {
        roundtrip(Compression::None, b"hello tar".to_vec());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello tar").unwrap();
        roundtrip(Compression::Gzip, gz.finish().unwrap());
        roundtrip(Compression::Zstd, zstd::encode_all(&b"hello tar"[..], 1).unwrap());
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(b"hello tar").unwrap();
        roundtrip(Compression::Xz, xz.finish().unwrap());
    }

    #[test]
    fn an_empty_stream_is_an_error() {
        assert!(open(&b""[..]).is_err());
    }
}
