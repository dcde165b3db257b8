//! A TCP proxy in front of a data plane's API server, which the test can cut: while cut,
//! open connections are dropped and new ones closed at once, as a cluster that stopped
//! answering looks to a client; restored, it forwards again. The cluster behind keeps its
//! objects, unlike an emulator stopped and started again.

use std::net::SocketAddr;

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};

pub struct Proxy {
    pub addr: SocketAddr,
    up: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, _) = watch::channel(true);
        let states = up.clone();
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let state = states.subscribe();
                if !*state.borrow() {
                    drop(inbound);
                    continue;
                }
                tokio::spawn(forward(inbound, target, state));
            }
        });
        Proxy { addr, up, task }
    }

    /// The cluster stops answering.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    /// The cluster answers again.
    pub fn restore(&self) {
        self.up.send_replace(true);
    }

    pub fn stop(&self) {
        self.cut();
        self.task.abort();
    }
}

async fn forward(mut inbound: TcpStream, target: SocketAddr, mut state: watch::Receiver<bool>) {
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
        _ = state.wait_for(|up| !*up) => {}
    }
}
