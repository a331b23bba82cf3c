//! Methods of resources that are never created: a tool can get no
//! descriptor (there are no preopens and `open-at` needs one), no socket
//! (creation is refused), no terminal and no error, so none of these can be
//! called. `match *self {}` says so to the compiler.

use super::*;

impl io::error::GuestError for Never {
    fn to_debug_string(&self) -> String {
        match *self {}
    }
}
impl cli::terminal_input::GuestTerminalInput for Never {}
impl cli::terminal_output::GuestTerminalOutput for Never {}
impl fs::types::GuestDescriptor for Never {
    fn read_via_stream(&self, _: u64) -> Result<streams::InputStream, types::ErrorCode> {
        match *self {}
    }
    fn write_via_stream(&self, _: u64) -> Result<streams::OutputStream, types::ErrorCode> {
        match *self {}
    }
    fn append_via_stream(&self) -> Result<streams::OutputStream, types::ErrorCode> {
        match *self {}
    }
    fn advise(&self, _: u64, _: u64, _: Advice) -> Result<(), types::ErrorCode> {
        match *self {}
    }
    fn sync_data(&self) -> Result<(), types::ErrorCode> {
        match *self {}
    }
    fn get_flags(&self) -> Result<DescriptorFlags, types::ErrorCode> {
        match *self {}
    }
    fn get_type(&self) -> Result<DescriptorType, types::ErrorCode> {
        match *self {}
    }
    fn set_size(&self, _: u64) -> Result<(), types::ErrorCode> {
        match *self {}
    }
    fn set_times(&self, _: NewTimestamp, _: NewTimestamp) -> Result<(), types::ErrorCode> {
        match *self {}
    }
    fn read(&self, _: u64, _: u64) -> Result<(Vec<u8>, bool), types::ErrorCode> {
        match *self {}
    }
    fn write(&self, _: Vec<u8>, _: u64) -> Result<u64, types::ErrorCode> {
        match *self {}
    }
    fn read_directory(&self) -> Result<DirectoryEntryStream, types::ErrorCode> {
        match *self {}
    }
    fn sync(&self) -> Result<(), types::ErrorCode> {
        match *self {}
    }
    fn create_directory_at(&self, _: String) -> Result<(), types::ErrorCode> {
        match *self {}
    }
    fn stat(&self) -> Result<DescriptorStat, types::ErrorCode> {
        match *self {}
    }
    fn stat_at(&self, _: PathFlags, _: String) -> Result<DescriptorStat, types::ErrorCode> {
        match *self {}
    }
    fn set_times_at(
        &self,
        _: PathFlags,
        _: String,
        _: NewTimestamp,
        _: NewTimestamp,
    ) -> Result<(), types::ErrorCode> {
        match *self {}
    }
    fn link_at(
        &self,
        _: PathFlags,
        _: String,
        _: types::DescriptorBorrow<'_>,
        _: String,
    ) -> Result<(), types::ErrorCode> {
        match *self {}
    }
    fn open_at(
        &self,
        _: PathFlags,
        _: String,
        _: OpenFlags,
        _: DescriptorFlags,
    ) -> Result<types::Descriptor, types::ErrorCode> {
        match *self {}
    }
    fn readlink_at(&self, _: String) -> Result<String, types::ErrorCode> {
        match *self {}
    }
    fn remove_directory_at(&self, _: String) -> Result<(), types::ErrorCode> {
        match *self {}
    }
    fn rename_at(
        &self,
        _: String,
        _: types::DescriptorBorrow<'_>,
        _: String,
    ) -> Result<(), types::ErrorCode> {
        match *self {}
    }
    fn symlink_at(&self, _: String, _: String) -> Result<(), types::ErrorCode> {
        match *self {}
    }
    fn unlink_file_at(&self, _: String) -> Result<(), types::ErrorCode> {
        match *self {}
    }
    fn is_same_object(&self, _: types::DescriptorBorrow<'_>) -> bool {
        match *self {}
    }
    fn metadata_hash(&self) -> Result<MetadataHashValue, types::ErrorCode> {
        match *self {}
    }
    fn metadata_hash_at(
        &self,
        _: PathFlags,
        _: String,
    ) -> Result<MetadataHashValue, types::ErrorCode> {
        match *self {}
    }
}
impl fs::types::GuestDirectoryEntryStream for Never {
    fn read_directory_entry(&self) -> Result<Option<DirectoryEntry>, types::ErrorCode> {
        match *self {}
    }
}
impl net::udp::GuestUdpSocket for Never {
    fn start_bind(
        &self,
        _: network::NetworkBorrow<'_>,
        _: network::IpSocketAddress,
    ) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn finish_bind(&self) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn stream(
        &self,
        _: Option<network::IpSocketAddress>,
    ) -> Result<(IncomingDatagramStream, OutgoingDatagramStream), network::ErrorCode> {
        match *self {}
    }
    fn local_address(&self) -> Result<network::IpSocketAddress, network::ErrorCode> {
        match *self {}
    }
    fn remote_address(&self) -> Result<network::IpSocketAddress, network::ErrorCode> {
        match *self {}
    }
    fn address_family(&self) -> network::IpAddressFamily {
        match *self {}
    }
    fn unicast_hop_limit(&self) -> Result<u8, network::ErrorCode> {
        match *self {}
    }
    fn set_unicast_hop_limit(&self, _: u8) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn receive_buffer_size(&self) -> Result<u64, network::ErrorCode> {
        match *self {}
    }
    fn set_receive_buffer_size(&self, _: u64) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn send_buffer_size(&self) -> Result<u64, network::ErrorCode> {
        match *self {}
    }
    fn set_send_buffer_size(&self, _: u64) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn subscribe(&self) -> poll::Pollable {
        match *self {}
    }
}
impl net::udp::GuestIncomingDatagramStream for Never {
    fn receive(&self, _: u64) -> Result<Vec<IncomingDatagram>, network::ErrorCode> {
        match *self {}
    }
    fn subscribe(&self) -> poll::Pollable {
        match *self {}
    }
}
impl net::udp::GuestOutgoingDatagramStream for Never {
    fn check_send(&self) -> Result<u64, network::ErrorCode> {
        match *self {}
    }
    fn send(&self, _: Vec<OutgoingDatagram>) -> Result<u64, network::ErrorCode> {
        match *self {}
    }
    fn subscribe(&self) -> poll::Pollable {
        match *self {}
    }
}
impl net::tcp::GuestTcpSocket for Never {
    fn start_bind(
        &self,
        _: network::NetworkBorrow<'_>,
        _: network::IpSocketAddress,
    ) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn finish_bind(&self) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn start_connect(
        &self,
        _: network::NetworkBorrow<'_>,
        _: network::IpSocketAddress,
    ) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn finish_connect(
        &self,
    ) -> Result<(streams::InputStream, streams::OutputStream), network::ErrorCode> {
        match *self {}
    }
    fn start_listen(&self) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn finish_listen(&self) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn accept(
        &self,
    ) -> Result<(tcp::TcpSocket, streams::InputStream, streams::OutputStream), network::ErrorCode>
    {
        match *self {}
    }
    fn local_address(&self) -> Result<network::IpSocketAddress, network::ErrorCode> {
        match *self {}
    }
    fn remote_address(&self) -> Result<network::IpSocketAddress, network::ErrorCode> {
        match *self {}
    }
    fn is_listening(&self) -> bool {
        match *self {}
    }
    fn address_family(&self) -> network::IpAddressFamily {
        match *self {}
    }
    fn set_listen_backlog_size(&self, _: u64) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn keep_alive_enabled(&self) -> Result<bool, network::ErrorCode> {
        match *self {}
    }
    fn set_keep_alive_enabled(&self, _: bool) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn keep_alive_idle_time(&self) -> Result<u64, network::ErrorCode> {
        match *self {}
    }
    fn set_keep_alive_idle_time(&self, _: u64) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn keep_alive_interval(&self) -> Result<u64, network::ErrorCode> {
        match *self {}
    }
    fn set_keep_alive_interval(&self, _: u64) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn keep_alive_count(&self) -> Result<u32, network::ErrorCode> {
        match *self {}
    }
    fn set_keep_alive_count(&self, _: u32) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn hop_limit(&self) -> Result<u8, network::ErrorCode> {
        match *self {}
    }
    fn set_hop_limit(&self, _: u8) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn receive_buffer_size(&self) -> Result<u64, network::ErrorCode> {
        match *self {}
    }
    fn set_receive_buffer_size(&self, _: u64) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn send_buffer_size(&self) -> Result<u64, network::ErrorCode> {
        match *self {}
    }
    fn set_send_buffer_size(&self, _: u64) -> Result<(), network::ErrorCode> {
        match *self {}
    }
    fn subscribe(&self) -> poll::Pollable {
        match *self {}
    }
    fn shutdown(&self, _: ShutdownType) -> Result<(), network::ErrorCode> {
        match *self {}
    }
}
impl net::ip_name_lookup::GuestResolveAddressStream for Never {
    fn resolve_next_address(&self) -> Result<Option<network::IpAddress>, network::ErrorCode> {
        match *self {}
    }
    fn subscribe(&self) -> poll::Pollable {
        match *self {}
    }
}
