//! A small TCP proxy a test puts between one worker and Redis, to partition that worker:
//! [`TcpProxy::cut`] drops every open connection and closes new ones at once,
//! [`TcpProxy::restore`] lets connections through again.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long the proxy waits to reach its upstream.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A running proxy; stops (and drops every connection) on drop.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    cut: watch::Sender<bool>,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl TcpProxy {
    /// Listens on a free local port and forwards to `upstream`.
    ///
    /// # Errors
    /// When no local port can be bound.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (cut, _) = watch::channel(false);
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        tasks.spawn(accept_loop(
            listener,
            upstream,
            cut.clone(),
            stop.clone(),
            tasks.clone(),
        ));
        Ok(Self {
            addr,
            cut,
            stop,
            tasks,
        })
    }

    /// `redis://127.0.0.1:<port>` of the proxy.
    pub fn redis_url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops every open connection and closes new ones as soon as they are accepted.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Lets new connections through again.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }

    pub fn is_cut(&self) -> bool {
        *self.cut.borrow()
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.tasks.close();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    cut: watch::Sender<bool>,
    stop: CancellationToken,
    tasks: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((client, _)) = accepted else {
            continue;
        };
        if *cut.borrow() {
            // Partitioned: the connection is closed as soon as it is made.
            drop(client);
            continue;
        }
        tasks.spawn(forward(client, upstream, cut.subscribe(), stop.clone()));
    }
    tracing::debug!(proxy.upstream = %upstream, "proxy stopped accepting");
}

/// Copies both ways until either side closes, the proxy is cut, or it stops.
async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut cut: watch::Receiver<bool>,
    stop: CancellationToken,
) {
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(upstream)).await;
    let Ok(Ok(mut server)) = connected else {
        return;
    };
    let cut_now = async {
        // Returns once the flag is true; an error means the proxy is gone: stop too.
        let _ = cut.wait_for(|cut| *cut).await;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        () = cut_now => {}
        () = stop.cancelled() => {}
    }
    // Dropping both streams closes them: the client sees its connection die.
}
