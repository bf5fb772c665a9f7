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

/// External and service function settings (ARCHITECTURE.md, Settings).
fn remote_config() -> anyhow::Result<sql::extfn::call::RemoteConfig> {
    let defaults = sql::extfn::call::RemoteConfig::default();
    let url_map = match std::env::var("FLOE_EXTERNAL_URL_MAP") {
        Ok(text) => sql::extfn::call::RemoteConfig::parse_url_map(&text).map_err(|e| anyhow::anyhow!(e))?,
        Err(_) => Vec::new(),
    };
    let mut settings = defaults.settings.clone();
    settings.max_in_flight = env_u64("FLOE_REMOTE_MAX_IN_FLIGHT", settings.max_in_flight as u64).max(1) as usize;
    settings.request_timeout = Duration::from_millis(env_u64("FLOE_REMOTE_REQUEST_TIMEOUT_MS", settings.request_timeout.as_millis() as u64));
    settings.poll_max = Duration::from_millis(env_u64("FLOE_REMOTE_POLL_MAX_MS", settings.poll_max.as_millis() as u64));
    settings.retry_max = Duration::from_millis(env_u64("FLOE_REMOTE_RETRY_MAX_MS", settings.retry_max.as_millis() as u64));
    Ok(sql::extfn::call::RemoteConfig {
        url_map,
        external_timeout: Duration::from_secs(env_u64("FLOE_EXTERNAL_FUNCTION_TIMEOUT_SECS", defaults.external_timeout.as_secs())),
        default_batch_rows: env_u64("FLOE_REMOTE_BATCH_ROWS", defaults.default_batch_rows as u64).max(1) as usize,
        settings,
    })
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
        remote: remote_config()?,
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
    let sessions = state.sessions.clone();
    let app = protocol::router(state);
    start_control_plane(&args, &engine, sessions, app.clone(), addr.port()).await?;
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

/// This server's instance id: the owner label of its containers and networks, kept in the data dir so
/// a restarted server adopts what it started.
fn instance_id(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join("instance-id");
    if let Ok(id) = std::fs::read_to_string(&path)
        && !id.trim().is_empty()
    {
        return Ok(id.trim().to_string());
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    std::fs::write(&path, &id)?;
    Ok(id)
}

/// Session tokens for the containers of a service: a session of the service's own user (named after the
/// service) with its owner role, which floe accepts in a connector login with `authenticator='oauth'`.
struct ServiceTokens(Arc<protocol::SessionRegistry>);

impl control::TokenIssuer for ServiceTokens {
    fn issue(&self, service: &sql::spcs::Service, _ttl: Duration) -> Option<String> {
        let session = sql::Session {
            user: service.name.clone(),
            role: service.owner.clone(),
            database: Some(service.database.clone()),
            schema: Some(service.schema.clone()),
            warehouse: service.query_warehouse.clone(),
            ..Default::default()
        };
        self.0.create(session).ok().map(|t| t.token)
    }
}

/// Connects the container runtime and starts the control plane; without a Docker engine floe still
/// serves SQL, and statements that need containers say why they cannot run.
async fn start_control_plane(args: &ServerArgs, engine: &sql::Engine, sessions: Arc<protocol::SessionRegistry>, app: axum::Router, port: u16) -> anyhow::Result<()> {
    engine.spcs().durations.write().stop_grace = Duration::from_secs(env_u64("FLOE_STOP_GRACE_SECS", 30));
    let logs = Arc::new(store::LogStore::open(&args.data_dir.join("logs.db"))?);
    engine.spcs().set_logs(logs.clone());
    let connected = tokio::time::timeout(Duration::from_secs(10), driver_docker::DockerDriver::connect()).await;
    let docker = match connected {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            warn!(error = %e, "no Docker engine: services and jobs cannot run");
            engine.spcs().set_available(Err(format!("cannot reach the Docker engine ({e})")));
            return Ok(());
        }
        Err(_) => {
            warn!("the Docker engine did not answer within 10 s: services and jobs cannot run");
            engine.spcs().set_available(Err("the Docker engine did not answer".into()));
            return Ok(());
        }
    };
    let described = driver::RuntimeDriver::describe(&docker).await.unwrap_or_else(|_| "Docker".into());
    info!(runtime = %described, "container runtime connected");
    engine.spcs().set_available(Ok(described));
    // floe listens on the gateway address of each network it creates, so containers reach it at
    // SNOWFLAKE_HOST; nothing else beyond loopback.
    let (gw_tx, mut gw_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        let mut bound = std::collections::HashSet::new();
        while let Some(gw) = gw_rx.recv().await {
            if !bound.insert(gw.clone()) {
                continue;
            }
            match tokio::net::TcpListener::bind((gw.as_str(), port)).await {
                Ok(l) => {
                    info!(address = %format!("{gw}:{port}"), "listening for containers");
                    let app = app.clone();
                    tokio::spawn(async move {
                        let _ = axum::serve(l, app).await;
                    });
                }
                Err(e) => warn!(address = %gw, error = %e, "cannot listen for containers"),
            }
        }
    });
    let cfg = control::Config {
        owner: instance_id(&args.data_dir)?,
        // Absolute: token, secret and stage directories are bind-mounted into containers.
        data_dir: std::fs::canonicalize(&args.data_dir)?,
        account: args.account.clone(),
        port,
        registry_address: engine.config().registry_address.clone(),
        tick: Duration::from_millis(env_u64("FLOE_RECONCILE_MS", 1000)),
    };
    let controller = control::Controller::new(
        cfg,
        engine.clone(),
        Arc::new(docker),
        logs,
        Some(Arc::new(ServiceTokens(sessions))),
        Box::new(move |gw| {
            let _ = gw_tx.send(gw);
        }),
    );
    controller.spawn();
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
