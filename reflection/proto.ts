// grpc.reflection.v1 and v1alpha: the service definitions, from grpc/grpc-proto
// grpc/reflection/v1/reflection.proto and grpc/reflection/v1alpha/reflection.proto
// (Apache-2.0), embedded so that no file is read at run time. The two differ only in package
// and options.

import { loadProtoSync, type ServiceDefinition } from "../codec.ts";

function reflectionProto(version: "v1" | "v1alpha"): string {
  return `syntax = "proto3";

package grpc.reflection.${version};

option go_package = "google.golang.org/grpc/reflection/grpc_reflection_${version}";
option java_multiple_files = true;
option java_package = "io.grpc.reflection.${version}";
option java_outer_classname = "ServerReflectionProto";

service ServerReflection {
  // The reflection service is structured as a bidirectional stream, ensuring
  // all related requests go to a single server.
  rpc ServerReflectionInfo(stream ServerReflectionRequest)
      returns (stream ServerReflectionResponse);
}

// The message sent by the client when calling ServerReflectionInfo method.
message ServerReflectionRequest {
  string host = 1;
  oneof message_request {
    string file_by_filename = 3;
    string file_containing_symbol = 4;
    ExtensionRequest file_containing_extension = 5;
    string all_extension_numbers_of_type = 6;
    string list_services = 7;
  }
}

message ExtensionRequest {
  string containing_type = 1;
  int32 extension_number = 2;
}

message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response {
    FileDescriptorResponse file_descriptor_response = 4;
    ExtensionNumberResponse all_extension_numbers_response = 5;
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}

message FileDescriptorResponse {
  repeated bytes file_descriptor_proto = 1;
}

message ExtensionNumberResponse {
  string base_type_name = 1;
  repeated int32 extension_number = 2;
}

message ListServiceResponse {
  repeated ServiceResponse service = 1;
}

message ServiceResponse {
  string name = 1;
}

message ErrorResponse {
  int32 error_code = 1;
  string error_message = 2;
}
`;
}

/** The v1 .proto text. */
export const REFLECTION_V1_PROTO: string = reflectionProto("v1");
/** The v1alpha .proto text. */
export const REFLECTION_V1ALPHA_PROTO: string = reflectionProto("v1alpha");

/** `grpc.reflection.v1.ServerReflection`. */
export const reflectionServiceV1: ServiceDefinition = loadProtoSync({
  source: REFLECTION_V1_PROTO,
  name: "grpc/reflection/v1/reflection.proto",
})["grpc.reflection.v1.ServerReflection"];

/** `grpc.reflection.v1alpha.ServerReflection` (grpc-go before 1.45 serves only this one). */
export const reflectionServiceV1Alpha: ServiceDefinition = loadProtoSync({
  source: REFLECTION_V1ALPHA_PROTO,
  name: "grpc/reflection/v1alpha/reflection.proto",
})["grpc.reflection.v1alpha.ServerReflection"];
