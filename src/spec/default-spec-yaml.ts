/**
 * The default spec as YAML text: the built-in functions, captures and links that pair a
 * client goroutine waiting on a gRPC or HTTP call with the server goroutine handling it.
 * It serves every program: functions a binary lacks are skipped, so each expression only has
 * to fit the versions of grpc-go and net/http that contain its function. docs/links.md
 * explains every entry; test/links checks them against real client and server processes.
 */

/** The default spec document (YAML, spec version 1). */
export const DEFAULT_SPEC_YAML = `# Periscope's default spec. Addresses are captured as IP (net.IP, rendered as Go's
# String(): "10.0.0.7", "2001:db8::1") and port (int) of the connection's *net.TCPAddr,
# so that each end of a TCP connection can be compared column by column.
version: 1
functions:
  # --- gRPC (google.golang.org/grpc) -------------------------------------------------
  # Server: one goroutine per RPC runs handleStream, which calls the service's handler.
  - function: google.golang.org/grpc.(*Server).handleStream
    table: grpc_server_streams
    capture:
      stream_id: stream.id
      method: stream.method
      local_ip: t.(*"google.golang.org/grpc/internal/transport".http2Server).peer.LocalAddr.(*net.TCPAddr).IP
      local_port: t.(*"google.golang.org/grpc/internal/transport".http2Server).peer.LocalAddr.(*net.TCPAddr).Port
      remote_ip: t.(*"google.golang.org/grpc/internal/transport".http2Server).peer.Addr.(*net.TCPAddr).IP
      remote_port: t.(*"google.golang.org/grpc/internal/transport".http2Server).peer.Addr.(*net.TCPAddr).Port
  # Client, grpc-go >= 1.69 (transport.ClientStream): a call waiting for the response headers
  # (a unary RPC whose handler has not returned; a stream before the server's first header).
  # (The names of the fields that lead from the call to its transport stream changed across
  # releases, so each release's own waitOnHeader is captured instead.)
  - function: google.golang.org/grpc/internal/transport.(*ClientStream).waitOnHeader
    table: grpc_client_awaiting_headers
    capture:
      stream_id: s.id
      method: s.method
      local_ip: s.ct.localAddr.(*net.TCPAddr).IP
      local_port: s.ct.localAddr.(*net.TCPAddr).Port
      remote_ip: s.ct.remoteAddr.(*net.TCPAddr).IP
      remote_port: s.ct.remoteAddr.(*net.TCPAddr).Port
  # Client, grpc-go <= 1.68 (one transport.Stream type for both sides; ct is an interface).
  # The function does not exist in later releases, so there it is skipped.
  - function: google.golang.org/grpc/internal/transport.(*Stream).waitOnHeader
    table: grpc_client_awaiting_headers_v1
    capture:
      stream_id: s.id
      method: s.method
      local_ip: s.ct.(*"google.golang.org/grpc/internal/transport".http2Client).localAddr.(*net.TCPAddr).IP
      local_port: s.ct.(*"google.golang.org/grpc/internal/transport".http2Client).localAddr.(*net.TCPAddr).Port
      remote_ip: s.ct.(*"google.golang.org/grpc/internal/transport".http2Client).remoteAddr.(*net.TCPAddr).IP
      remote_port: s.ct.(*"google.golang.org/grpc/internal/transport".http2Client).remoteAddr.(*net.TCPAddr).Port
  # Client, every version: a call reading a response message (RecvMsg after the headers
  # came). The parser's reader is an interface holding the client's transport stream, so
  # these fields are looked up on its dynamic value when captured: the same expressions fit
  # transport.ClientStream (>= 1.69) and transport.Stream (<= 1.68, whose ct is an interface
  # too). Servers read requests through the same function: their rows have a stream_id and
  # method but no addresses (a server stream has no ct), so they never join.
  - function: google.golang.org/grpc.(*parser).recvMsg
    table: grpc_client_awaiting_messages
    capture:
      stream_id: p.r.id
      method: p.r.method
      local_ip: p.r.ct.localAddr.(*net.TCPAddr).IP
      local_port: p.r.ct.localAddr.(*net.TCPAddr).Port
      remote_ip: p.r.ct.remoteAddr.(*net.TCPAddr).IP
      remote_port: p.r.ct.remoteAddr.(*net.TCPAddr).Port
  # --- net/http (HTTP/1.x over TCP) ---------------------------------------------------
  # Client: a request written on a connection, waiting for its response.
  - function: net/http.(*persistConn).roundTrip
    table: http_client_calls
    capture:
      method: req.Method
      host: req.URL.Host
      path: req.URL.Path
      local_ip: pc.conn.(*net.TCPConn).fd.laddr.(*net.TCPAddr).IP
      local_port: pc.conn.(*net.TCPConn).fd.laddr.(*net.TCPAddr).Port
      remote_ip: pc.conn.(*net.TCPConn).fd.raddr.(*net.TCPAddr).IP
      remote_port: pc.conn.(*net.TCPConn).fd.raddr.(*net.TCPAddr).Port
  # Server: one goroutine per connection; HTTP/1.x handlers run on it.
  - function: net/http.(*conn).serve
    table: http_server_conns
    capture:
      remote_addr: c.remoteAddr
      local_ip: c.rwc.(*net.TCPConn).fd.laddr.(*net.TCPAddr).IP
      local_port: c.rwc.(*net.TCPConn).fd.laddr.(*net.TCPAddr).Port
      remote_ip: c.rwc.(*net.TCPConn).fd.raddr.(*net.TCPAddr).IP
      remote_port: c.rwc.(*net.TCPConn).fd.raddr.(*net.TCPAddr).Port
links:
  # The same TCP connection seen from both ends (client local = server remote and the
  # reverse), and the same HTTP/2 stream on it.
  - name: grpc_awaiting_headers
    description: a gRPC client call waiting for response headers -> the server goroutine handling it
    from: { table: grpc_client_awaiting_headers, columns: [local_ip, local_port, remote_ip, remote_port, stream_id] }
    to: { table: grpc_server_streams, columns: [remote_ip, remote_port, local_ip, local_port, stream_id] }
  - name: grpc_awaiting_messages
    description: a gRPC client call waiting for a response message -> the server goroutine handling it
    from: { table: grpc_client_awaiting_messages, columns: [local_ip, local_port, remote_ip, remote_port, stream_id] }
    to: { table: grpc_server_streams, columns: [remote_ip, remote_port, local_ip, local_port, stream_id] }
  - name: grpc_awaiting_headers_v1
    description: the same as grpc_awaiting_headers, for grpc-go 1.68 and older
    from: { table: grpc_client_awaiting_headers_v1, columns: [local_ip, local_port, remote_ip, remote_port, stream_id] }
    to: { table: grpc_server_streams, columns: [remote_ip, remote_port, local_ip, local_port, stream_id] }
  # HTTP/1.x carries one request at a time per connection: the 4-tuple is enough.
  - name: http_call
    description: an HTTP client call waiting for its response -> the server goroutine serving that connection
    from: { table: http_client_calls, columns: [local_ip, local_port, remote_ip, remote_port] }
    to: { table: http_server_conns, columns: [remote_ip, remote_port, local_ip, local_port] }
`;
