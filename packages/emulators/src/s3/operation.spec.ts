import { describe, expect, it } from "vitest";
import { s3Operation } from "./operation.js";

const COPY = { "x-amz-copy-source": "/b/src" };

describe("s3Operation", () => {
  it.each([
    ["GET", "/b", "prefix=docker%2F&max-keys=1", {}, "ListObjects"],
    ["GET", "/b", "list-type=2&prefix=x", {}, "ListObjectsV2"],
    ["GET", "/b", "uploads=&prefix=k", {}, "ListMultipartUploads"],
    ["GET", "/b", "location=", {}, "GetBucketLocation"],
    ["HEAD", "/b", "", {}, "HeadBucket"],
    ["POST", "/b", "delete=", {}, "DeleteObjects"],
    ["GET", "/b/k/data", "", {}, "GetObject"],
    ["HEAD", "/b/k/data", "", {}, "HeadObject"],
    ["PUT", "/b/k", "", {}, "PutObject"],
    ["PUT", "/b/k", "", COPY, "CopyObject"],
    ["POST", "/b/k", "uploads=", {}, "CreateMultipartUpload"],
    ["PUT", "/b/k", "partNumber=1&uploadId=u", {}, "UploadPart"],
    ["PUT", "/b/k", "partNumber=2&uploadId=u", COPY, "UploadPartCopy"],
    ["GET", "/b/k", "uploadId=u", {}, "ListParts"],
    ["POST", "/b/k", "uploadId=u", {}, "CompleteMultipartUpload"],
    ["DELETE", "/b/k", "uploadId=u", {}, "AbortMultipartUpload"],
    ["DELETE", "/b/k", "", {}, "DeleteObject"],
    ["PATCH", "/b/k", "", {}, "Unknown"],
  ])("%s %s?%s is %s", (method, path, query, headers, operation) => {
    expect(s3Operation(method, path, query, headers)).toBe(operation);
  });
});
