import type { IncomingHttpHeaders } from "node:http";

/**
 * The S3 API operation a path-style request calls, as S3's API reference names
 * it (`PutObject`, `UploadPart`, `ListObjectsV2`, ...), from its method, whether
 * it names a key, the names of its query parameters and the copy-source header:
 * the request's values never enter it. `Unknown` for what this table lacks.
 */
export const s3Operation = (
  method: string,
  path: string,
  rawQuery: string,
  headers: IncomingHttpHeaders,
): string => {
  const q = new URLSearchParams(rawQuery);
  const has = (name: string) => q.has(name);
  const [, bucket = "", ...rest] = path.split("/");
  const key = rest.join("/");
  const copy = headers["x-amz-copy-source"] !== undefined;
  if (bucket === "") return method === "GET" ? "ListBuckets" : "Unknown";
  if (key === "") {
    switch (method) {
      case "GET":
        if (has("uploads")) return "ListMultipartUploads";
        if (has("location")) return "GetBucketLocation";
        if (has("versions")) return "ListObjectVersions";
        if (q.get("list-type") === "2") return "ListObjectsV2";
        return "ListObjects";
      case "HEAD":
        return "HeadBucket";
      case "PUT":
        return "CreateBucket";
      case "POST":
        return has("delete") ? "DeleteObjects" : "Unknown";
      case "DELETE":
        return "DeleteBucket";
      default:
        return "Unknown";
    }
  }
  switch (method) {
    case "GET":
      return has("uploadId") ? "ListParts" : "GetObject";
    case "HEAD":
      return "HeadObject";
    case "PUT":
      if (has("partNumber") && has("uploadId")) return copy ? "UploadPartCopy" : "UploadPart";
      return copy ? "CopyObject" : "PutObject";
    case "POST":
      if (has("uploads")) return "CreateMultipartUpload";
      if (has("uploadId")) return "CompleteMultipartUpload";
      return "Unknown";
    case "DELETE":
      return has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
    default:
      return "Unknown";
  }
};
