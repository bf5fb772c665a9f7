//! `floe server`: opens the data dir, creates the first user, serves the protocol, drains on SIGTERM.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tracing::{info, warn};

/// Flags of `floe server`.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Where floe keeps its catalog and tables.
    #[arg(long, env = "FLOE_DATA_DIR", default_value = "./floe-data")]
    data_dir: PathBuf,
    /// Address of the Snowflake protocol listener.
    #[arg(long, env = "FLOE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Account name clients connect with.
    #[arg(long, env = "FLOE_ACCOUNT", default_value = "floe")]
    account: String,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs the server until SIGTERM/SIGINT; returns the exit code.
pub fn run(args: ServerArgs) -> i32 {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(serve(args)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("floe: {e:#}");
            1
        }
    }
}

async fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let cache_bytes = env_u64("FLOE_CACHE_MB", 1024) << 20;
    let data_dir = args.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || store::Store::open(&data_dir, cache_bytes)).await??;
    if store.format_found() != 0 && store.format_found() < store::FORMAT_VERSION {
        info!(from = store.format_found(), to = store::FORMAT_VERSION, "migrated data dir format");
    }
    let config = sql::EngineConfig {
        account: args.account.clone(),
        statement_memory_bytes: (env_u64("FLOE_STATEMENT_MEMORY_MB", 4096) << 20) as usize,
        partitions: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        // Image repository URLs name floe's registry: FLOE_REGISTRY_ADDRESS, else the listen address.
        registry_address: std::env::var("FLOE_REGISTRY_ADDRESS").ok().filter(|a| !a.is_empty()).unwrap_or_else(|| args.listen.clone()),
        results_dir: Some(args.data_dir.join("results")),
        result_cache_bytes: env_u64("FLOE_RESULT_CACHE_MB", 1024) << 20,
        result_retention: Duration::from_secs(env_u64("FLOE_RESULT_RETENTION_SECS", 24 * 3600)),
    };
    let engine = sql::Engine::new(store, config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let admin_password = std::env::var("FLOE_ADMIN_PASSWORD").ok();
    if let Some(generated) = sql::auth::ensure_admin(&engine, admin_password.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))? {
        let path = args.data_dir.join("admin-password");
        write_secret(&path, &generated)?;
        println!("floe: created user ADMIN with a generated password (saved in {}): {generated}", path.display());
    }
    // A new account's objects (warehouse COMPUTE_WH) and the removal of orphan stage directories.
    sql::objects::ensure_defaults(&engine).map_err(|e| anyhow::anyhow!("{e}"))?;
    let lifetimes = protocol::TokenLifetimes {
        session_secs: env_u64("FLOE_SESSION_TOKEN_SECS", 3600),
        master_secs: env_u64("FLOE_MASTER_TOKEN_SECS", 4 * 3600),
    };
    let sessions = Arc::new(protocol::SessionRegistry::new(engine.clone(), lifetimes));
    let restored = sessions.restore().map_err(|e| anyhow::anyhow!("{e}"))?;
    if restored > 0 {
        info!(sessions = restored, "restored sessions");
    }
    let state = protocol::AppState {
        engine: engine.clone(),
        sessions,
        queries: Arc::new(protocol::QueryRegistry::default()),
        config: protocol::ProtocolConfig { result_hold: Duration::from_secs(env_u64("FLOE_RESULT_HOLD_SECS", 30)) },
    };
    let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("floe listening on http://{addr} (account {}, data dir {})", args.account, args.data_dir.display());
    let _ = std::io::stdout().flush();
    let queries = state.queries.clone();
    let app = protocol::router(state);
    let drain = Duration::from_secs(env_u64("FLOE_STATEMENT_DRAIN_SECS", 30));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            info!("shutting down: draining running statements");
            let deadline = tokio::time::Instant::now() + drain;
            while !queries.running().is_empty() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let left = queries.running();
            if !left.is_empty() {
                warn!(count = left.len(), "cancelling statements still running after the drain period");
                for q in &left {
                    q.cancel.cancel();
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
        .await?;
    info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn write_secret(path: &std::path::Path, secret: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().create(true).truncate(true).write(true).mode(0o600).open(path)?;
    writeln!(file, "{secret}")?;
    file.sync_all()?;
    Ok(())
}
