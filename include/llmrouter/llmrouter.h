// SPDX-License-Identifier: MIT
#pragma once
/// @file llmrouter.h
/// Umbrella header: everything public in libllmrouter.

#include "llmrouter/capabilities.h"
#include "llmrouter/classifier.h"
#include "llmrouter/config.h"
#include "llmrouter/engine.h"
#include "llmrouter/formats.h"
#include "llmrouter/host_json.h"
#include "llmrouter/log.h"
#include "llmrouter/pipeline.h"
#include "llmrouter/plugin.h"
#include "llmrouter/registry.h"
#include "llmrouter/request.h"
#include "llmrouter/response.h"
#include "llmrouter/result.h"
#include "llmrouter/router.h"
#include "llmrouter/settings.h"
#include "llmrouter/state.h"
#include "llmrouter/telemetry.h"
#include "llmrouter/tracing.h"
#include "llmrouter/value.h"
#include "llmrouter/version.h"
