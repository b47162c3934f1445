//! # imgtool: a sha256 content-addressed image store
//!
//! An image is a stack of read-only directory trees, *layers*, and a little
//! config (environment, default command, working directory). A container
//! sees the layers merged by overlayfs, with a writable layer of its own on
//! top (see the `rootfs` tool).
//!
//! Layers are stored extracted and named by the sha256 of their tar
//! (*content addressing*): identical content is stored once, a name always
//! means the same bytes, and a name can be checked by hashing. Tags
//! (`busybox:latest`) are mutable pointers to image IDs; an image's ID is
//! the sha256 of its config file, as Docker's and the OCI image spec's.
//!
//! The modules, in the order an image travels:
//! - [`archive`]: `docker save` archives and OCI layouts in ([`archive::load`])
//!   and out ([`archive::save`]), every digest checked;
//! - [`compression`]: gzip, zstd and xz told by their magic numbers;
//! - [`unpack`]: a layer tar extracted without letting it out, whiteouts
//!   turned into overlayfs's;
//! - [`tarsplit`]: what gives a stored layer's tar back byte for byte;
//! - [`pack`]: a container's writable layer packed into a layer tar (commit);
//! - [`config`]: the JSON documents (config, manifest, index);
//! - [`store`]: the store on disk, its index and its locks.
//!
//! Tars are untrusted input: [`unpack`] refuses every entry that would
//! land outside the layer. See tar(5), sha256sum(1), `docker load`,
//! `docker import`, the OCI image spec (image-layout.md, layer.md).

pub mod archive;
pub mod busybox;
pub mod compression;
pub mod config;
pub mod error;
pub mod pack;
pub mod progress;
pub mod reference;
pub mod store;
pub mod tarsplit;
pub mod unpack;

pub use error::{Error, Result, ToolError};
pub use reference::Reference;
pub use store::{ImageConfig, ImageInfo, LayerInfo, Store};
