// SPDX-License-Identifier: MIT
#pragma once
// The curl transport's event loops, for what else runs on them (the HTTP edge). Internal to
// libllmrouter: Asio types stay out of the public headers.

#include <functional>
#include <memory>
#include <vector>

#include "llmrouter/transport.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace llmrouter::detail {

/// The io_contexts of a transport made by make_curl_transport, one per loop, each run by
/// its own thread until the transport shuts down (which waits for every operation pending
/// on them: close what you run there first). Empty for any other Transport.
std::vector<boost::asio::io_context*> transport_loops(Transport& transport);

/// Calls `*hook` when `transport` shuts down, on the thread that shuts it down, before its
/// loops stop (so that what runs there can close first), unless `hook` has expired by then.
/// Nothing happens for any other Transport.
void on_transport_shutdown(Transport& transport, std::weak_ptr<std::function<void()>> hook);

}  // namespace llmrouter::detail
