/**
 * The default spec as YAML text: the built-in functions, captures and links that pair a
 * client goroutine waiting on a gRPC or HTTP call with the server goroutine handling it.
 * It serves every program: functions a binary lacks are skipped, so each expression only has
 * to fit the versions of grpc-go and net/http that contain its function. docs/links.md
 * explains every entry; test/links checks them against real client and server processes.
 */

/**
 * The SQL columns every built-in table derives from its `conn` capture: the link columns
 * `socket` and `peer`, the addresses, and for IP sockets each end's IP and port (the columns
 * these tables had before they captured `conn`, which queries may use).
 */
const SOCKET_COLUMNS = `    columns:
      socket: conn->>'$.socket'
      peer: conn->>'$.peer'
      local: conn->>'$.local'
      remote: conn->>'$.remote'
      local_ip: conn->>'$.local_ip'
      local_port: CAST(conn->>'$.local_port' AS BIGINT)
      remote_ip: conn->>'$.remote_ip'
      remote_port: CAST(conn->>'$.remote_port' AS BIGINT)
`;

/** The default spec document (YAML, spec version 1). */
export const DEFAULT_SPEC_YAML = `# Periscope's default spec. Each table captures its call's connection as socket(CONN):
# the socket behind it, found through the wrappers services put around connections
# (structs embedding a net.Conn, or holding one in a field, any number of levels deep),
# as JSON with its identity on both ends: \`socket\` (this end) and \`peer\` (the other),
# "tcp 10.0.0.7:5000" for TCP (the addresses each side sees), "unix BOOT:INODE" for Unix
# sockets (the kernel's inodes of the two ends). A link pairs rows whose socket and peer
# are swapped.
version: 1
functions:
  # --- gRPC (google.golang.org/grpc) -------------------------------------------------
  # Server: one goroutine per RPC runs handleStream, which calls the service's handler.
  - function: google.golang.org/grpc.(*Server).handleStream
    table: grpc_server_streams
    capture:
      stream_id: stream.id
      method: stream.method
      conn: socket(t.(*"google.golang.org/grpc/internal/transport".http2Server).conn)
${SOCKET_COLUMNS}  # Client, grpc-go >= 1.69 (transport.ClientStream): a call waiting for the response headers
  # (a unary RPC whose handler has not returned; a stream before the server's first header).
  # (The names of the fields that lead from the call to its transport stream changed across
  # releases, so each release's own waitOnHeader is captured instead.)
  - function: google.golang.org/grpc/internal/transport.(*ClientStream).waitOnHeader
    table: grpc_client_awaiting_headers
    capture:
      stream_id: s.id
      method: s.method
      conn: socket(s.ct.conn)
${SOCKET_COLUMNS}  # Client, grpc-go <= 1.68 (one transport.Stream type for both sides; ct is an interface).
  # The function does not exist in later releases, so there it is skipped.
  - function: google.golang.org/grpc/internal/transport.(*Stream).waitOnHeader
    table: grpc_client_awaiting_headers_v1
    capture:
      stream_id: s.id
      method: s.method
      conn: socket(s.ct.(*"google.golang.org/grpc/internal/transport".http2Client).conn)
${SOCKET_COLUMNS}  # Client, every version: a call reading a response message (RecvMsg after the headers
  # came). The parser's reader is an interface holding the client's transport stream, so
  # these fields are looked up on its dynamic value when captured: the same expressions fit
  # transport.ClientStream (>= 1.69) and transport.Stream (<= 1.68, whose ct is an interface
  # too). Servers read requests through the same function: a server stream has no ct, so
  # their rows have no socket (and nothing else is read there): they never join.
  - function: google.golang.org/grpc.(*parser).recvMsg
    table: grpc_client_awaiting_messages
    capture:
      stream_id: p.r.id
      method: p.r.method
      conn: socket(p.r.ct.conn)
${SOCKET_COLUMNS}  # --- net/http (HTTP/1.x) -------------------------------------------------------------
  # Client: a request written on a connection, waiting for its response.
  - function: net/http.(*persistConn).roundTrip
    table: http_client_calls
    capture:
      method: req.Method
      host: req.URL.Host
      path: req.URL.Path
      conn: socket(pc.conn)
${SOCKET_COLUMNS}  # Server: one goroutine per connection; HTTP/1.x handlers run on it.
  - function: net/http.(*conn).serve
    table: http_server_conns
    capture:
      remote_addr: c.remoteAddr
      conn: socket(c.rwc)
${SOCKET_COLUMNS}links:
  # The same connection seen from both ends (the client's socket is the server's peer and
  # the reverse), and the same HTTP/2 stream on it.
  - name: grpc_awaiting_headers
    description: a gRPC client call waiting for response headers -> the server goroutine handling it
    from: { table: grpc_client_awaiting_headers, columns: [socket, peer, stream_id] }
    to: { table: grpc_server_streams, columns: [peer, socket, stream_id] }
  - name: grpc_awaiting_messages
    description: a gRPC client call waiting for a response message -> the server goroutine handling it
    from: { table: grpc_client_awaiting_messages, columns: [socket, peer, stream_id] }
    to: { table: grpc_server_streams, columns: [peer, socket, stream_id] }
  - name: grpc_awaiting_headers_v1
    description: the same as grpc_awaiting_headers, for grpc-go 1.68 and older
    from: { table: grpc_client_awaiting_headers_v1, columns: [socket, peer, stream_id] }
    to: { table: grpc_server_streams, columns: [peer, socket, stream_id] }
  # HTTP/1.x carries one request at a time per connection: the connection is enough.
  - name: http_call
    description: an HTTP client call waiting for its response -> the server goroutine serving that connection
    from: { table: http_client_calls, columns: [socket, peer] }
    to: { table: http_server_conns, columns: [peer, socket] }
`;
