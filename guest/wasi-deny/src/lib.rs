//! Stands in for every WASI interface a tool component may import, except
//! clocks, random and poll (see the `wasi-deny` world in `wit/composed.wit`
//! for what a tool sees). Composed in front of each tool on hosts other than
//! ours, so that the host's environment, files and network are never
//! reachable from a tool, whatever the host grants the composition.
//!
//! `no_std`: built with the standard library the component would itself
//! import `wasi:cli` and `wasi:io` from the host, and a world cannot both
//! import and export one interface. Natively the crate is empty.
#![cfg(target_arch = "wasm32")]
#![no_std]
extern crate alloc;

#[allow(unsafe_code)]
mod bindings {
    wit_bindgen::generate!({
        world: "wasi-deny",
        path: "../../wit",
        generate_all,
    });
    use super::Component;
    export!(Component);
}
use bindings::exports::wasi::cli0_2_6 as cli;
use bindings::exports::wasi::filesystem0_2_6 as fs;
use bindings::exports::wasi::io0_2_6 as io;
use bindings::exports::wasi::sockets0_2_6 as net;

#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// The canonical ABI's allocation entry point. On wasm32-wasip2 it normally
/// comes from wasi-libc, which a `no_std` component does not link.
#[allow(unsafe_code)]
mod canonical_abi {
    use core::alloc::Layout;

    /// # Safety
    /// Called by the component model runtime only, with the pointer, length
    /// and alignment of an allocation it got from this function before.
    #[unsafe(no_mangle)]
    unsafe extern "C" fn cabi_realloc(
        old_ptr: *mut u8,
        old_len: usize,
        align: usize,
        new_len: usize,
    ) -> *mut u8 {
        if new_len == 0 {
            return align as *mut u8;
        }
        // SAFETY: the runtime passes a power-of-two alignment and, for a
        // reallocation, the layout `old_ptr` was allocated with.
        let ptr = unsafe {
            if old_len == 0 {
                alloc::alloc::alloc(Layout::from_size_align_unchecked(new_len, align))
            } else {
                alloc::alloc::realloc(
                    old_ptr,
                    Layout::from_size_align_unchecked(old_len, align),
                    new_len,
                )
            }
        };
        if ptr.is_null() {
            core::arch::wasm32::unreachable()
        }
        ptr
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

struct Component;

/// The type of every resource this component never creates (descriptors,
/// sockets, terminals, errors): its methods cannot be called.
enum Never {}

mod never;
struct Closed;
struct Sink;
struct NoNetwork;

/// How many bytes a sink says it accepts per `write` (the spec's suggested
/// 4 KiB; writers loop).
const SINK_WRITE_SIZE: u64 = 4096;

/// A pollable that is ready at once: nothing here ever waits.
fn ready() -> poll::Pollable {
    monotonic_clock::subscribe_duration(0)
}

use alloc::string::String;
use alloc::vec::Vec;
use bindings::wasi::clocks0_2_6::monotonic_clock;
use bindings::wasi::io0_2_6::poll;
use fs::types;
use fs::types::{
    Advice, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, DirectoryEntryStream,
    MetadataHashValue, NewTimestamp, OpenFlags, PathFlags,
};
use io::streams::{self, StreamError};
use net::network;
use net::tcp;
use net::tcp::ShutdownType;
use net::udp::{
    IncomingDatagram, IncomingDatagramStream, OutgoingDatagram, OutgoingDatagramStream,
};

impl io::error::Guest for Component {
    type Error = Never;
}
impl io::streams::Guest for Component {
    type InputStream = Closed;
    type OutputStream = Sink;
}
impl cli::environment::Guest for Component {
    fn get_environment() -> Vec<(String, String)> {
        Vec::new()
    }
    fn get_arguments() -> Vec<String> {
        Vec::new()
    }
    fn initial_cwd() -> Option<String> {
        None
    }
}
impl cli::exit::Guest for Component {
    fn exit(_: Result<(), ()>) {
        core::arch::wasm32::unreachable()
    }
}
impl cli::stdin::Guest for Component {
    fn get_stdin() -> io::streams::InputStream {
        io::streams::InputStream::new(Closed)
    }
}
impl cli::stdout::Guest for Component {
    fn get_stdout() -> io::streams::OutputStream {
        io::streams::OutputStream::new(Sink)
    }
}
impl cli::stderr::Guest for Component {
    fn get_stderr() -> io::streams::OutputStream {
        io::streams::OutputStream::new(Sink)
    }
}
impl cli::terminal_input::Guest for Component {
    type TerminalInput = Never;
}
impl cli::terminal_output::Guest for Component {
    type TerminalOutput = Never;
}
impl cli::terminal_stdin::Guest for Component {
    fn get_terminal_stdin() -> Option<cli::terminal_input::TerminalInput> {
        None
    }
}
impl cli::terminal_stdout::Guest for Component {
    fn get_terminal_stdout() -> Option<cli::terminal_output::TerminalOutput> {
        None
    }
}
impl cli::terminal_stderr::Guest for Component {
    fn get_terminal_stderr() -> Option<cli::terminal_output::TerminalOutput> {
        None
    }
}
impl fs::types::Guest for Component {
    type Descriptor = Never;
    type DirectoryEntryStream = Never;
    fn filesystem_error_code(_: io::error::ErrorBorrow<'_>) -> Option<fs::types::ErrorCode> {
        None
    }
}
impl fs::preopens::Guest for Component {
    fn get_directories() -> Vec<(fs::types::Descriptor, String)> {
        Vec::new()
    }
}
impl net::network::Guest for Component {
    type Network = NoNetwork;
}
impl net::instance_network::Guest for Component {
    fn instance_network() -> net::network::Network {
        net::network::Network::new(NoNetwork)
    }
}
impl net::udp::Guest for Component {
    type UdpSocket = Never;
    type IncomingDatagramStream = Never;
    type OutgoingDatagramStream = Never;
}
impl net::udp_create_socket::Guest for Component {
    fn create_udp_socket(
        _: net::network::IpAddressFamily,
    ) -> Result<net::udp::UdpSocket, net::network::ErrorCode> {
        Err(net::network::ErrorCode::AccessDenied)
    }
}
impl net::tcp::Guest for Component {
    type TcpSocket = Never;
}
impl net::tcp_create_socket::Guest for Component {
    fn create_tcp_socket(
        _: net::network::IpAddressFamily,
    ) -> Result<net::tcp::TcpSocket, net::network::ErrorCode> {
        Err(net::network::ErrorCode::AccessDenied)
    }
}
impl net::ip_name_lookup::Guest for Component {
    type ResolveAddressStream = Never;
    fn resolve_addresses(
        _: net::network::NetworkBorrow<'_>,
        _: String,
    ) -> Result<net::ip_name_lookup::ResolveAddressStream, net::network::ErrorCode> {
        Err(net::network::ErrorCode::AccessDenied)
    }
}
/// Stdin: always at its end.
impl io::streams::GuestInputStream for Closed {
    fn read(&self, _: u64) -> Result<Vec<u8>, StreamError> {
        Err(StreamError::Closed)
    }
    fn blocking_read(&self, _: u64) -> Result<Vec<u8>, StreamError> {
        Err(StreamError::Closed)
    }
    fn skip(&self, _: u64) -> Result<u64, StreamError> {
        Err(StreamError::Closed)
    }
    fn blocking_skip(&self, _: u64) -> Result<u64, StreamError> {
        Err(StreamError::Closed)
    }
    fn subscribe(&self) -> poll::Pollable {
        ready()
    }
}
/// Stdout and stderr: every write succeeds and goes nowhere.
impl io::streams::GuestOutputStream for Sink {
    fn check_write(&self) -> Result<u64, StreamError> {
        Ok(SINK_WRITE_SIZE)
    }
    fn write(&self, _: Vec<u8>) -> Result<(), StreamError> {
        Ok(())
    }
    fn blocking_write_and_flush(&self, _: Vec<u8>) -> Result<(), StreamError> {
        Ok(())
    }
    fn flush(&self) -> Result<(), StreamError> {
        Ok(())
    }
    fn blocking_flush(&self) -> Result<(), StreamError> {
        Ok(())
    }
    fn subscribe(&self) -> poll::Pollable {
        ready()
    }
    fn write_zeroes(&self, _: u64) -> Result<(), StreamError> {
        Ok(())
    }
    fn blocking_write_zeroes_and_flush(&self, _: u64) -> Result<(), StreamError> {
        Ok(())
    }
    fn splice(&self, _: streams::InputStreamBorrow<'_>, _: u64) -> Result<u64, StreamError> {
        Err(StreamError::Closed)
    }
    fn blocking_splice(
        &self,
        _: streams::InputStreamBorrow<'_>,
        _: u64,
    ) -> Result<u64, StreamError> {
        Err(StreamError::Closed)
    }
}
impl net::network::GuestNetwork for NoNetwork {}
