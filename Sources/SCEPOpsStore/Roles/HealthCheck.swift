/// Whether the state answers: `/healthz` asks it, so that a load balancer takes a replica
/// that lost its database out of rotation.
public protocol HealthCheck: Sendable {
    func checkHealth() async throws(StoreError)
}
