// grpc.health.v1: the service definition, from grpc/grpc-proto grpc/health/v1/health.proto
// (Apache-2.0), embedded so that no file is read at run time.

import { loadProtoSync, type ServiceDefinition } from "../codec.ts";

/** The file's name as importers and server reflection know it. */
export const HEALTH_PROTO_NAME = "grpc/health/v1/health.proto";

/** The .proto text (comments trimmed). */
export const HEALTH_PROTO = `syntax = "proto3";

package grpc.health.v1;

option csharp_namespace = "Grpc.Health.V1";
option go_package = "google.golang.org/grpc/health/grpc_health_v1";
option java_multiple_files = true;
option java_outer_classname = "HealthProto";
option java_package = "io.grpc.health.v1";
option objc_class_prefix = "GrpcHealthV1";
option php_namespace = "Grpc\\\\Health\\\\V1";

message HealthCheckRequest {
  string service = 1;
}

message HealthCheckResponse {
  enum ServingStatus {
    UNKNOWN = 0;
    SERVING = 1;
    NOT_SERVING = 2;
    SERVICE_UNKNOWN = 3;  // Used only by the Watch method.
  }
  ServingStatus status = 1;
}

message HealthListRequest {}

message HealthListResponse {
  // statuses contains all the services and their respective status.
  map<string, HealthCheckResponse> statuses = 1;
}

// Health is gRPC's mechanism for checking whether a server is able to handle
// RPCs. Its semantics are documented in
// https://github.com/grpc/grpc/blob/master/doc/health-checking.md.
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc List(HealthListRequest) returns (HealthListResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
`;

/** `grpc.health.v1.Health`, with the default codec options (enums as names). */
export const healthService: ServiceDefinition = loadProtoSync({
  source: HEALTH_PROTO,
  name: HEALTH_PROTO_NAME,
})["grpc.health.v1.Health"];
