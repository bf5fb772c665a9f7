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
    /// Address of the image registry (OCI Distribution) listener; default: the --listen host, port + 1
    /// (an ephemeral port when that one is taken).
    #[arg(long, env = "FLOE_REGISTRY_LISTEN")]
    registry_listen: Option<String>,
    /// Address of the ingress listener (public endpoints of services); default: the --listen host,
    /// port + 2 (an ephemeral port when that one is taken).
    #[arg(long, env = "FLOE_INGRESS_LISTEN")]
    ingress_listen: Option<String>,
}

/// Binds a listener of its own (`what`: registry, ingress): the flag's address, else the listen host at
/// port + `offset`, else (taken) an ephemeral port on that host.
async fn bind_beside(args: &ServerArgs, flag: Option<&str>, offset: u16, what: &str) -> anyhow::Result<tokio::net::TcpListener> {
    if let Some(addr) = flag.filter(|a| !a.is_empty()) {
        return tokio::net::TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr} ({what}): {e}"));
    }
    let (host, port) = args.listen.rsplit_once(':').ok_or_else(|| anyhow::anyhow!("--listen {} has no port", args.listen))?;
    let port: u16 = port.parse().map_err(|_| anyhow::anyhow!("--listen {} has no valid port", args.listen))?;
    let next = if port == 0 { 0 } else { port.wrapping_add(offset) };
    match tokio::net::TcpListener::bind((host, next)).await {
        Ok(l) => Ok(l),
        Err(e) => {
            warn!(port = next, error = %e, "{what}: default port taken, using an ephemeral port (set --{what}-listen)");
            tokio::net::TcpListener::bind((host, 0)).await.map_err(|e| anyhow::anyhow!("cannot listen on {host}:0 ({what}): {e}"))
        }
    }
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
    if let Ok(path) = std::env::var("FLOE_REMOTE_CA_FILE") {
        let pem = std::fs::read(&path).map_err(|e| anyhow::anyhow!("FLOE_REMOTE_CA_FILE: cannot read {path}: {e}"))?;
        settings.extra_roots = remote::parse_roots(&pem).map_err(|e| anyhow::anyhow!("FLOE_REMOTE_CA_FILE: {path}: {e}"))?;
    }
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
    let registry_listener = bind_beside(&args, args.registry_listen.as_deref(), 1, "registry").await?;
    let registry_addr = advertised(registry_listener.local_addr()?);
    let ingress_listener = bind_beside(&args, args.ingress_listen.as_deref(), 2, "ingress").await?;
    let ingress_addr = ingress_listener.local_addr()?;
    let config = sql::EngineConfig {
        account: args.account.clone(),
        statement_memory_bytes: (env_u64("FLOE_STATEMENT_MEMORY_MB", 4096) << 20) as usize,
        partitions: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        // Image repository URLs name floe's registry: FLOE_REGISTRY_ADDRESS, else its listener's address.
        registry_address: std::env::var("FLOE_REGISTRY_ADDRESS").ok().filter(|a| !a.is_empty()).unwrap_or_else(|| registry_addr.to_string()),
        results_dir: Some(args.data_dir.join("results")),
        result_cache_bytes: env_u64("FLOE_RESULT_CACHE_MB", 1024) << 20,
        result_retention: Duration::from_secs(env_u64("FLOE_RESULT_RETENTION_SECS", 24 * 3600)),
        remote: remote_config()?,
        ingress_port: Some(ingress_addr.port()),
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
    // The image registry: its own listener, floe's users and privileges, a collection at start.
    let internal_secret = sql::auth::random_secret(32);
    let authority = crate::image_registry::FloeAuthority { engine: engine.clone(), sessions: sessions.clone(), internal_secret: internal_secret.clone() };
    let image_registry = registry::Registry::open(&args.data_dir, Arc::new(authority)).map_err(|e| anyhow::anyhow!("cannot open the image registry: {e}"))?;
    engine.set_image_store(Arc::new(crate::image_registry::RegistryImages(image_registry.clone())));
    crate::image_registry::collect(&image_registry).await;
    let registry_app = image_registry.router();
    let scheme = match registry_tls(&args.data_dir, &engine.config().registry_address)? {
        None => {
            tokio::spawn(async move {
                if let Err(e) = axum::serve(registry_listener, registry_app).await {
                    warn!(error = %e, "registry listener stopped");
                }
            });
            "http"
        }
        Some(acceptor) => {
            tokio::spawn(serve_tls(registry_listener, acceptor, registry_app));
            "https"
        }
    };
    println!("floe image registry on {scheme}://{registry_addr} (repository URLs: {})", engine.config().registry_address);
    // The ingress: public endpoints by host name, floe's sessions and service roles.
    let ingress_authority = crate::ingress_authority::FloeIngress { engine: engine.clone(), sessions: sessions.clone(), next: Default::default() };
    let ingress_app = ingress::Ingress::new(Arc::new(ingress_authority)).router();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(ingress_listener, ingress_app).await {
            warn!(error = %e, "ingress listener stopped");
        }
    });
    println!("floe ingress on {ingress_addr} (public endpoints: http://<hash>-<account>.localhost:{})", ingress_addr.port());
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
    protocol::spawn_session_sweeper(state.clone(), Duration::from_secs(env_u64("FLOE_SESSION_SWEEP_SECS", 60)));
    let app = protocol::router(state);
    let pull_credentials = driver::RegistryCredentials {
        server: engine.config().registry_address.clone(),
        username: crate::image_registry::INTERNAL_USER.into(),
        password: internal_secret,
    };
    start_control_plane(&args, &engine, sessions, app.clone(), addr.port(), pull_credentials).await?;
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
async fn start_control_plane(
    args: &ServerArgs,
    engine: &sql::Engine,
    sessions: Arc<protocol::SessionRegistry>,
    app: axum::Router,
    port: u16,
    pull_credentials: driver::RegistryCredentials,
) -> anyhow::Result<()> {
    engine.spcs().durations.write().stop_grace = Duration::from_secs(env_u64("FLOE_STOP_GRACE_SECS", 30));
    engine.spcs().durations.write().retention = Duration::from_secs(env_u64("FLOE_RETENTION_SECS", sql::spcs::RETENTION_SECS));
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
    // SNOWFLAKE_HOST (https on 443 when it may bind that port, else plain http); nothing else beyond
    // loopback.
    let tls = container_tls(&args.data_dir)?;
    let acceptor = tls.as_ref().map(|(_, a)| a.clone());
    let tls_port = tls.as_ref().map(|(t, _)| t.port);
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
            if let (Some(acceptor), Some(tls_port)) = (&acceptor, tls_port) {
                match tokio::net::TcpListener::bind((gw.as_str(), tls_port)).await {
                    Ok(l) => {
                        info!(address = %format!("{gw}:{tls_port}"), "listening for containers over https");
                        tokio::spawn(serve_tls_protocol(l, acceptor.clone(), app.clone()));
                    }
                    Err(e) => warn!(address = %gw, error = %e, "cannot listen for containers over https"),
                }
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
        registry_credentials: Some(pull_credentials),
        tick: Duration::from_millis(env_u64("FLOE_RECONCILE_MS", 1000)),
        tls: tls.map(|(t, _)| t),
        token_refresh: Duration::from_secs(env_u64("FLOE_TOKEN_REFRESH_SECS", 600)),
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
    match capture_runtime().await {
        Ok((driver, handle)) => controller.set_capture_runtime(driver, handle),
        Err(e) => warn!(error = %e, "log capture shares the server's runtime"),
    }
    controller.spawn();
    Ok(())
}

/// A single-threaded runtime on a thread of its own for log capture, with a Docker client created on
/// it (so its HTTP connections' tasks run there too); see `Controller::set_capture_runtime`.
async fn capture_runtime() -> anyhow::Result<(Arc<dyn driver::RuntimeDriver>, tokio::runtime::Handle)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let handle = rt.handle().clone();
    std::thread::Builder::new().name("floe-log-capture".into()).spawn(move || rt.block_on(std::future::pending::<()>()))?;
    let docker = handle.spawn(driver_docker::DockerDriver::connect()).await??;
    Ok((Arc::new(docker), handle))
}

/// The host name containers reach floe by (SNOWFLAKE_HOST), resolved in each container to its
/// network's gateway.
const CONTAINER_HOST: &str = "snowflake.floe.internal";

/// floe's https front door for containers: its CA (kept in `<data-dir>/tls`), a bundle of the host's
/// roots plus that CA for the containers, and an acceptor for CONTAINER_HOST. None when disabled
/// (`FLOE_CONTAINER_TLS_PORT=0`) or when floe may not bind the port (443 needs root or
/// CAP_NET_BIND_SERVICE): containers then use plain http at the gateway address.
fn container_tls(data_dir: &std::path::Path) -> anyhow::Result<Option<(control::ContainerTls, tls::TlsAcceptor)>> {
    let port = env_u64("FLOE_CONTAINER_TLS_PORT", 443) as u16;
    if port == 0 {
        return Ok(None);
    }
    if let Err(e) = std::net::TcpListener::bind(("127.0.0.1", port))
        && e.kind() == std::io::ErrorKind::PermissionDenied
    {
        warn!(port, "floe may not bind port {port}: containers reach it over plain http (run as root or grant CAP_NET_BIND_SERVICE for https)");
        return Ok(None);
    }
    let dir = std::fs::canonicalize(data_dir)?.join("tls");
    let authority = tls::Authority::load_or_create(&dir)?;
    let roots = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"].iter().find_map(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    let bundle_file = dir.join("ca-bundle.pem");
    let tmp = dir.join("ca-bundle.pem.tmp");
    std::fs::write(&tmp, format!("{roots}\n# floe local CA\n{}", authority.ca_pem()))?;
    std::fs::rename(&tmp, &bundle_file)?;
    let acceptor = authority.acceptor(&[CONTAINER_HOST.to_string()])?;
    Ok(Some((control::ContainerTls { host: CONTAINER_HOST.into(), port, ca_file: dir.join("ca.pem"), bundle_file }, acceptor)))
}

/// The address a listener is reached at: its own, or for an unspecified one (`0.0.0.0`) the machine's
/// address on its default route (the one other hosts reach it by), else loopback.
fn advertised(bound: std::net::SocketAddr) -> std::net::SocketAddr {
    if !bound.ip().is_unspecified() {
        return bound;
    }
    // Connecting a UDP socket sends nothing; it only picks the route and so the local address.
    let ip = std::net::UdpSocket::bind(("0.0.0.0", 0))
        .and_then(|s| s.connect(("192.0.2.1", 9)).map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    std::net::SocketAddr::new(ip, bound.port())
}

/// Where the Docker engine looks for registries' CAs (`<dir>/<host:port>/ca.crt`, read on every
/// connection, so no restart of dockerd). `FLOE_DOCKER_CERTS_DIR` changes it.
const DOCKER_CERTS_DIR: &str = "/etc/docker/certs.d";

/// The registry on an address other than loopback: Docker speaks https to every registry except those
/// on 127.0.0.0/8 (and its `insecure-registries`), so floe serves it with a certificate for that host
/// signed by its CA (`<data-dir>/tls`) and puts the CA where the engine trusts it for that registry.
/// None on loopback (plain http, no change to the engine).
fn registry_tls(data_dir: &std::path::Path, address: &str) -> anyhow::Result<Option<tls::TlsAcceptor>> {
    let host = match address.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => address,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        return Ok(None);
    }
    let dir = std::fs::canonicalize(data_dir)?.join("tls");
    let authority = tls::Authority::load_or_create(&dir)?;
    let acceptor = authority.acceptor(&[host.to_string(), "localhost".into(), "127.0.0.1".into()])?;
    let certs = std::env::var("FLOE_DOCKER_CERTS_DIR").ok().filter(|d| !d.is_empty()).unwrap_or_else(|| DOCKER_CERTS_DIR.into());
    let target = std::path::Path::new(&certs).join(address);
    let written = std::fs::create_dir_all(&target).and_then(|_| {
        let tmp = target.join("ca.crt.tmp");
        std::fs::write(&tmp, authority.ca_pem())?;
        std::fs::rename(&tmp, target.join("ca.crt"))
    });
    match written {
        Ok(()) => info!(registry = %address, ca = %target.join("ca.crt").display(), "registry serves https; its CA is trusted by the Docker engine"),
        Err(e) => warn!(
            registry = %address, error = %e,
            "registry serves https, but its CA could not be put in the engine's certs.d: copy {} to {}/ca.crt",
            dir.join("ca.pem").display(), target.display()
        ),
    }
    Ok(Some(acceptor))
}

/// Serves the protocol over TLS on one listener (containers' front door).
async fn serve_tls_protocol(listener: tokio::net::TcpListener, acceptor: tls::TlsAcceptor, app: axum::Router) {
    serve_tls(listener, acceptor, app.layer(axum::Extension(protocol::ViaTls))).await
}

/// Serves an app over TLS on one listener.
async fn serve_tls(listener: tokio::net::TcpListener, acceptor: tls::TlsAcceptor, app: axum::Router) {
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                warn!(error = %e, "https accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            // A client that never finishes its handshake does not hold the task and socket forever.
            let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await else { return };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
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
