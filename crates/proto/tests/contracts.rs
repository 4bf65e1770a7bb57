//! The contracts carry every operation of DESIGN §4's admin table and of the grant in §6.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use prost::Message;
use prost_types::FileDescriptorSet;

fn methods() -> Vec<String> {
    let set = FileDescriptorSet::decode(crossauthz_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut out = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                out.push(format!(
                    "{}.{}/{}",
                    file.package(),
                    service.name(),
                    method.name()
                ));
            }
        }
    }
    out
}

#[test]
fn every_admin_and_grant_operation_has_a_grpc_method() {
    // (DESIGN §4 admin REST call or §6 grant step, the gRPC method that mirrors it)
    let required = [
        (
            "POST /admin/v1/agents",
            "crossauthz.registry.v1.Registry/CreateAgent",
        ),
        (
            "GET /admin/v1/agents",
            "crossauthz.registry.v1.Registry/ListAgents",
        ),
        (
            "GET /admin/v1/agents/{id}",
            "crossauthz.registry.v1.Registry/GetAgent",
        ),
        (
            "PATCH /admin/v1/agents/{id}",
            "crossauthz.registry.v1.Registry/UpdateAgent",
        ),
        (
            "DELETE /admin/v1/agents/{id}",
            "crossauthz.registry.v1.Registry/DeleteAgent",
        ),
        (
            "metadata history",
            "crossauthz.registry.v1.Registry/GetAgentHistory",
        ),
        (
            "POST /admin/v1/agents/{id}/credentials",
            "crossauthz.registry.v1.Registry/IssueAgentCredential",
        ),
        (
            "GET /agents/{id}/client-metadata.json",
            "crossauthz.registry.v1.Registry/GetClientMetadata",
        ),
        (
            "POST /register",
            "crossauthz.registry.v1.Registry/RegisterClient",
        ),
        (
            "GET /register/{id}",
            "crossauthz.registry.v1.Registry/GetClient",
        ),
        (
            "PUT /register/{id}",
            "crossauthz.registry.v1.Registry/UpdateClient",
        ),
        (
            "DELETE /register/{id}",
            "crossauthz.registry.v1.Registry/DeleteClient",
        ),
        ("issue", "crossauthz.issuer.v1.Issuer/IssueCredential"),
        (
            "GET /admin/v1/credentials/{id}",
            "crossauthz.issuer.v1.Issuer/GetCredential",
        ),
        (
            "POST /admin/v1/credentials/{id}/revoke",
            "crossauthz.issuer.v1.Issuer/RevokeCredential",
        ),
        (
            "POST /admin/v1/credentials/{id}/suspend",
            "crossauthz.issuer.v1.Issuer/SuspendCredential",
        ),
        (
            "POST /admin/v1/credentials/{id}/unsuspend",
            "crossauthz.issuer.v1.Issuer/UnsuspendCredential",
        ),
        ("key rotation", "crossauthz.issuer.v1.Issuer/RotateKey"),
        (
            "/.well-known/did.json, jwks.json, jwt-vc-issuer",
            "crossauthz.issuer.v1.Issuer/GetPublicKeys",
        ),
        (
            "status entry allocation",
            "crossauthz.status_list.v1.StatusList/AllocateEntry",
        ),
        (
            "status change",
            "crossauthz.status_list.v1.StatusList/SetStatus",
        ),
        (
            "GET /status/{list}",
            "crossauthz.status_list.v1.StatusList/GetPublishedList",
        ),
        (
            "§6 steps 1-6 at POST /token",
            "crossauthz.verifier.v1.Verifier/Decide",
        ),
        (
            "GET /authorize client resolution",
            "crossauthz.verifier.v1.Verifier/ResolveClient",
        ),
        (
            "POST /introspect, POST /revoke client authentication",
            "crossauthz.verifier.v1.Verifier/AuthenticateClient",
        ),
        (
            "consent page logo (C13)",
            "crossauthz.verifier.v1.Verifier/GetClientLogo",
        ),
        (
            "GET /admin/v1/trust",
            "crossauthz.verifier.v1.Verifier/GetTrustList",
        ),
        (
            "PUT /admin/v1/trust",
            "crossauthz.verifier.v1.Verifier/PutTrustList",
        ),
        (
            "GET /admin/v1/policies",
            "crossauthz.verifier.v1.Verifier/GetPolicies",
        ),
        (
            "PUT /admin/v1/policies",
            "crossauthz.verifier.v1.Verifier/PutPolicies",
        ),
        (
            "GET /admin/v1/resources",
            "crossauthz.verifier.v1.Verifier/GetResources",
        ),
        (
            "PUT /admin/v1/resources",
            "crossauthz.verifier.v1.Verifier/PutResources",
        ),
        (
            "GET /admin/v1/audit",
            "crossauthz.audit.v1.AuditLog/QueryEvents",
        ),
    ];
    let have = methods();
    let missing: Vec<_> = required
        .iter()
        .filter(|(_, m)| !have.iter().any(|h| h == m))
        .collect();
    assert!(
        missing.is_empty(),
        "operations without a gRPC method: {missing:?}"
    );
}

/// Compile-time proof that tonic generated a client for each service (servers likewise).
#[allow(dead_code)]
fn clients_exist(
    _: crossauthz_proto::registry::registry_client::RegistryClient<tonic::transport::Channel>,
    _: crossauthz_proto::issuer::issuer_client::IssuerClient<tonic::transport::Channel>,
    _: crossauthz_proto::status_list::status_list_client::StatusListClient<
        tonic::transport::Channel,
    >,
    _: crossauthz_proto::verifier::verifier_client::VerifierClient<tonic::transport::Channel>,
    _: crossauthz_proto::audit::audit_log_client::AuditLogClient<tonic::transport::Channel>,
) {
}
