//! The end-to-end tests, one module per behaviour, compiled into one test binary: each starts
//! the real `agentd` binary (and the scripted mock model) and talks to it over real pipes and
//! sockets. Shared setup lives in the `agentd-tests` library (`tests/src`); `model_support`
//! and `sandbox_support` are helpers of the model and sandbox modules.

mod model_support;
mod sandbox_support;

mod agents_md_layering;
mod approvals;
mod auth_bind;
mod auth_handshake;
mod auth_scopes;
mod auth_tls;
mod auth_tokens;
mod bad_input_corpus;
mod codex_compat;
mod codex_tui_replay;
mod compaction;
mod concurrent_thread_start;
mod config_errors;
mod config_read;
mod connection_cap;
mod crash_torture;
mod data_dir_lock;
mod doctor;
mod exec;
mod execpolicy_rules;
mod fanout_two_clients;
mod first_session;
mod fuzz_smoke;
mod graceful_shutdown;
mod handshake;
mod healthz_and_ping;
mod hooks;
mod hostile_model_stream;
mod internal_errors;
mod load_many_clients;
mod mock_llm_selftest;
mod model_chat;
mod model_responses;
mod model_retries;
mod one_daemon_per_data_dir;
mod overload_flood;
mod protocol_errors;
mod replay_after_disconnect;
mod restart_mid_turn;
mod restart_persistence;
mod sandbox_filesystem;
mod sandbox_network;
mod sandbox_processes;
mod sandbox_turns;
mod schema_fresh;
mod slow_subscriber_resync;
mod thread_fork;
mod thread_lifecycle;
mod thread_list_pagination;
mod thread_read_turns_verbatim;
mod thread_rollback;
mod thread_search;
mod thread_unloading;
mod tool_apply_patch;
mod tool_shell;
mod tool_update_plan;
mod tui_tmux;
mod turn_control;
mod turn_faults;
mod turn_streaming;
