/*
 * udp-batch: a UDP receive socket that reads datagrams in batches with recvmmsg(2) and hands them
 * to JavaScript once per batch, packed into one Buffer.
 *
 * Why it exists: Node's dgram makes one syscall, one 64 KiB allocation (then a realloc), one
 * Buffer, one rinfo object and one address string per datagram, and calls into JavaScript once
 * per datagram. At the streamer's load (tens of thousands of small RTP datagrams per second) that
 * per-datagram overhead costs more CPU than the media pipeline itself. Here one wake-up reads up
 * to BATCH datagrams per syscall into fixed slots, copies them back to back into one new Buffer,
 * and describes each in a shared Int32Array: [offset, length, IPv4 address, port] per datagram
 * (address as an unsigned 32-bit number in host order, stored in an int32 slot).
 *
 * The JavaScript side (streamer/ingest/udp-batch-socket.ts) owns the policy; this file only does
 * the syscalls. Node-API keeps it independent of the V8 version.
 *
 *   open(host, port, recvBufferBytes, pauseMs, meta: Int32Array(BATCH * 4), onBatch(buffer, count))
 *     -> handle (throws with errno text when the socket cannot be created or bound)
 *   info(handle) -> [port, recvBufferBytes granted]
 *   close(handle)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define BATCH 64
/* The largest UDP payload; slots are virtual memory until a datagram lands in them. */
#define SLOT 65536
/* Batches read per wake-up before yielding to the event loop (the poll is level-triggered). */
#define MAX_ROUNDS 16

typedef struct {
  napi_env env;
  uv_poll_t poll;
  uv_timer_t pause_timer;
  uint64_t pause_ms;
  int handles_open;
  int fd;
  int open;
  int closed;    /* uv_close finished: fd and slots released */
  int finalized; /* the JavaScript handle was collected: free the struct once closed */
  int port;
  int recv_buffer;
  int kernel_buffer; /* SO_RCVBUF as the kernel accounts it (doubled, with per-packet overhead) */
  napi_ref meta_ref;
  int32_t* meta;
  napi_ref callback_ref;
  napi_async_context async_context;
  char* slots;
  struct mmsghdr headers[BATCH];
  struct iovec iovecs[BATCH];
  struct sockaddr_in addrs[BATCH];
} batch_socket;

#define CHECK(env, call)                                  \
  do {                                                    \
    if ((call) != napi_ok) {                              \
      napi_throw_error((env), NULL, "udp-batch: " #call); \
      return NULL;                                        \
    }                                                     \
  } while (0)

static void throw_errno(napi_env env, const char* what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, err == EADDRINUSE ? "EADDRINUSE" : NULL, message);
}

static void on_closed(uv_handle_t* handle) {
  batch_socket* s = (batch_socket*)handle->data;
  if (--s->handles_open > 0) return;
  close(s->fd);
  free(s->slots);
  s->slots = NULL;
  s->closed = 1;
  if (s->finalized) free(s);
}

static void shut(batch_socket* s);

static void finalize(napi_env env, void* data, void* hint) {
  batch_socket* s = (batch_socket*)data;
  (void)env;
  (void)hint;
  s->finalized = 1;
  if (s->open) shut(s);
  else if (s->closed) free(s);
}

static void shut(batch_socket* s) {
  if (!s->open) return;
  s->open = 0;
  uv_poll_stop(&s->poll);
  uv_timer_stop(&s->pause_timer);
  uv_close((uv_handle_t*)&s->poll, on_closed);
  uv_close((uv_handle_t*)&s->pause_timer, on_closed);
  if (s->callback_ref) napi_delete_reference(s->env, s->callback_ref);
  if (s->meta_ref) napi_delete_reference(s->env, s->meta_ref);
  if (s->async_context) napi_async_destroy(s->env, s->async_context);
  s->callback_ref = NULL;
  s->meta_ref = NULL;
  s->async_context = NULL;
}

/* Delivers one batch; returns 0 when JavaScript threw or closed the socket. */
static int deliver(batch_socket* s, int count) {
  napi_env env = s->env;
  size_t total = 0;
  for (int i = 0; i < count; i++) total += s->headers[i].msg_len; /* <= SLOT: no UDP payload is larger */
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return 0;
  int keep_going = 1;
  void* data = NULL;
  napi_value buffer, callback, recv, argv[2], result;
  if (napi_create_buffer(env, total, &data, &buffer) != napi_ok) {
    napi_close_handle_scope(env, scope);
    return 0;
  }
  size_t offset = 0;
  for (int i = 0; i < count; i++) {
    unsigned int len = s->headers[i].msg_len;
    memcpy((char*)data + offset, s->slots + (size_t)i * SLOT, len);
    int32_t* m = s->meta + i * 4;
    m[0] = (int32_t)offset;
    m[1] = (int32_t)len;
    m[2] = (int32_t)ntohl(s->addrs[i].sin_addr.s_addr);
    m[3] = ntohs(s->addrs[i].sin_port);
    offset += len;
  }
  napi_get_reference_value(env, s->callback_ref, &callback);
  napi_get_global(env, &recv);
  argv[0] = buffer;
  napi_create_int32(env, count, &argv[1]);
  napi_status status = napi_make_callback(env, s->async_context, recv, callback, 2, argv, &result);
  if (status != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
    keep_going = 0;
  }
  napi_close_handle_scope(env, scope);
  return keep_going && s->open;
}

static void on_readable(uv_poll_t* poll, int status, int events);

static void on_pause_over(uv_timer_t* timer) {
  batch_socket* s = (batch_socket*)timer->data;
  if (s->open) uv_poll_start(&s->poll, UV_READABLE, on_readable);
}

/*
 * Reads until the socket is empty (or MAX_ROUNDS batches, to let the loop breathe). Then, with a
 * pause configured, stops watching the socket for that long so the next wake-up finds a full
 * batch instead of the two or three datagrams of one camera's frame: cameras send each frame as a
 * burst, so without it a streamer wakes up thousands of times a second. The socket buffer holds
 * what arrives meanwhile, so the pause is skipped when this wake-up found the buffer an eighth
 * full (a datagram costs the kernel about twice its payload) or a backlog (MAX_ROUNDS reached):
 * at high rates or with a small net.core.rmem_max the receiver simply reads at once.
 */
static void on_readable(uv_poll_t* poll, int status, int events) {
  batch_socket* s = (batch_socket*)poll->data;
  (void)events;
  if (status < 0 || !s->open) return;
  int drained = 0;
  size_t bytes = 0;
  for (int round = 0; round < MAX_ROUNDS; round++) {
    for (int i = 0; i < BATCH; i++) {
      s->headers[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    }
    int n = recvmmsg(s->fd, s->headers, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) { /* EAGAIN (drained), EINTR or a transient error: wait for the next wake-up */
      drained = 1;
      break;
    }
    for (int i = 0; i < n; i++) bytes += s->headers[i].msg_len + 256;
    if (!deliver(s, n)) return;
    if (n < BATCH) {
      drained = 1;
      break;
    }
  }
  if (drained && s->pause_ms > 0 && s->open && bytes * 2 < (size_t)s->kernel_buffer / 8) {
    uv_poll_stop(&s->poll);
    uv_timer_start(&s->pause_timer, on_pause_over, s->pause_ms, 0);
  }
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "udp-batch: open(host, port, recvBufferBytes, pauseMs, meta, onBatch)");
    return NULL;
  }
  char host[64];
  size_t host_len = 0;
  int32_t port = 0, recv_buffer = 0, pause_ms = 0;
  CHECK(env, napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_len));
  CHECK(env, napi_get_value_int32(env, argv[1], &port));
  CHECK(env, napi_get_value_int32(env, argv[2], &recv_buffer));
  CHECK(env, napi_get_value_int32(env, argv[3], &pause_ms));
  napi_typedarray_type meta_type;
  size_t meta_length = 0;
  void* meta_data = NULL;
  CHECK(env, napi_get_typedarray_info(env, argv[4], &meta_type, &meta_length, &meta_data, NULL, NULL));
  if (meta_type != napi_int32_array || meta_length < BATCH * 4) {
    napi_throw_type_error(env, NULL, "udp-batch: meta must be an Int32Array of at least 256 elements");
    return NULL;
  }

  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    napi_throw_type_error(env, NULL, "udp-batch: host must be an IPv4 address");
    return NULL;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return NULL;
  }
  if (recv_buffer > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &recv_buffer, sizeof recv_buffer);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    int err = errno;
    close(fd);
    throw_errno(env, "bind", err);
    return NULL;
  }
  socklen_t addr_len = sizeof addr;
  getsockname(fd, (struct sockaddr*)&addr, &addr_len);
  int granted = 0;
  socklen_t granted_len = sizeof granted;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &granted_len);

  batch_socket* s = calloc(1, sizeof *s);
  char* slots = malloc((size_t)BATCH * SLOT);
  if (s == NULL || slots == NULL) {
    free(s);
    free(slots);
    close(fd);
    napi_throw_error(env, NULL, "udp-batch: out of memory");
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  s->port = ntohs(addr.sin_port);
  s->kernel_buffer = granted;
  s->recv_buffer = granted / 2; /* Linux doubles what it grants for bookkeeping; report it as asked */
  s->slots = slots;
  s->meta = (int32_t*)meta_data;
  for (int i = 0; i < BATCH; i++) {
    s->iovecs[i].iov_base = slots + (size_t)i * SLOT;
    s->iovecs[i].iov_len = SLOT;
    s->headers[i].msg_hdr.msg_iov = &s->iovecs[i];
    s->headers[i].msg_hdr.msg_iovlen = 1;
    s->headers[i].msg_hdr.msg_name = &s->addrs[i];
  }
  napi_value resource_name;
  napi_create_string_utf8(env, "gbcast.udpBatch", NAPI_AUTO_LENGTH, &resource_name);
  if (napi_create_reference(env, argv[4], 1, &s->meta_ref) != napi_ok ||
      napi_create_reference(env, argv[5], 1, &s->callback_ref) != napi_ok ||
      napi_async_init(env, NULL, resource_name, &s->async_context) != napi_ok) {
    close(fd);
    free(slots);
    free(s);
    napi_throw_error(env, NULL, "udp-batch: cannot keep references");
    return NULL;
  }
  uv_loop_t* loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  if (uv_poll_init(loop, &s->poll, fd) != 0) {
    close(fd);
    free(slots);
    free(s);
    napi_throw_error(env, NULL, "udp-batch: uv_poll_init failed");
    return NULL;
  }
  uv_timer_init(loop, &s->pause_timer);
  uv_unref((uv_handle_t*)&s->pause_timer);
  s->pause_timer.data = s;
  s->pause_ms = pause_ms > 0 ? (uint64_t)pause_ms : 0;
  s->handles_open = 2;
  s->poll.data = s;
  s->open = 1;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);

  napi_value handle;
  /* A handle collected while open closes the socket; the struct is freed once both are done. */
  CHECK(env, napi_create_external(env, s, finalize, NULL, &handle));
  return handle;
}

static batch_socket* unwrap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_external(env, argv[0], &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "udp-batch: expected a handle from open()");
    return NULL;
  }
  return (batch_socket*)data;
}

static napi_value js_info(napi_env env, napi_callback_info info) {
  batch_socket* s = unwrap(env, info);
  if (s == NULL) return NULL;
  napi_value result, v;
  CHECK(env, napi_create_array_with_length(env, 2, &result));
  napi_create_int32(env, s->port, &v);
  napi_set_element(env, result, 0, v);
  napi_create_int32(env, s->recv_buffer, &v);
  napi_set_element(env, result, 1, v);
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  batch_socket* s = unwrap(env, info);
  if (s == NULL) return NULL;
  shut(s);
  return NULL;
}

/*
 * Hands free heap memory back to the kernel. Media buffers churn through malloc at thousands per
 * second; glibc keeps freed chunks in the middle of its heap resident forever unless asked.
 */
static napi_value js_trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, malloc_trim(0) != 0, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"trim", NULL, js_trim, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
