//! Unit tests of the throwaway servers: distinct ports, stop on drop, recognising our own.

use super::*;

#[test]
fn servers_start_on_distinct_ports_and_stop_on_drop() {
    let nats = NatsServer::start().expect("nats-server starts");
    let redis = RedisServer::start().expect("redis-server starts");
    assert_ne!(nats.url(), redis.url());
    let port = redis.process.port;
    drop(redis);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err());
}

#[test]
fn a_server_of_someone_else_on_the_port_is_not_taken_for_ours() {
    let nats = NatsServer::start().expect("nats-server starts");
    let redis = RedisServer::start().expect("redis-server starts");
    let connect = |port| {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).expect("connects")
    };
    let (nats_port, redis_port) = (nats.process.port, redis.process.port);
    let redis_pid = redis
        .process
        .child
        .as_ref()
        .map(Child::id)
        .expect("running");
    let ours = Probe::NatsServerName(nats_server_name(nats_port));
    assert!(ours.is_ours(connect(nats_port), 0));
    assert!(!Probe::NatsServerName("someone-else".into()).is_ours(connect(nats_port), 0));
    assert!(!ours.is_ours(connect(redis_port), 0));
    assert!(Probe::RedisPid.is_ours(connect(redis_port), redis_pid));
    assert!(!Probe::RedisPid.is_ours(connect(redis_port), redis_pid + 1));
}
