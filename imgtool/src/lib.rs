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
//! (`busybox:latest`) are mutable pointers to image IDs.
//!
//! Tars are untrusted input: [`unpack`] refuses every entry that would
//! land outside the layer. See tar(5), sha256sum(1), `docker import`.

pub mod busybox;
pub mod error;
pub mod reference;
pub mod store;
pub mod unpack;

pub use error::{Error, Result, ToolError};
pub use reference::Reference;
pub use store::{ImageConfig, ImageInfo, LayerInfo, Store};
