import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without type declarations
import { causeOf, classify, parseJunit, summarise, toMarkdown } from './s3-tests-summary.mjs';

const JUNIT = `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="2" skipped="1" tests="5">
<testcase classname="s3tests.functional.test_s3" name="test_bucket_list_empty" time="0.1"/>
<testcase classname="s3tests.functional.test_s3" name="test_multipart_copy_small" time="0.2"><failure message="botocore.exceptions.ClientError: An error occurred (NotImplemented) when calling the CreateMultipartUpload operation: A header you provided implies functionality that is not implemented">trace</failure></testcase>
<testcase classname="s3tests.functional.test_s3" name="test_put_object_ifmatch_good" time="0.1"><failure message="botocore.exceptions.ParamValidationError: Parameter validation failed:">Unknown parameter in input: "IfMatch", must be one of: ACL</failure></testcase>
<testcase classname="s3tests.functional.test_s3" name="test_versioning_obj_create_read_remove" time="0.1"><error message="failed on teardown with &quot;botocore.exceptions.ClientError: An error occurred (NotImplemented) when calling the ListObjectVersions operation: x&quot;">trace</error></testcase>
<testcase classname="s3tests.functional.test_headers" name="test_object_create_bad_md5_none" time="0.1"><skipped message="skip">why</skipped></testcase>
</testsuite></testsuites>`;

describe('s3-tests summary', () => {
  it('classifies by the most specific area first', () => {
    expect(classify('test_bucket_listv2_delimiter_basic')).toBe('list');
    expect(classify('test_multipart_copy_small')).toBe('multipart');
    expect(classify('test_object_copy_zero_size')).toBe('copy');
    expect(classify('test_versioning_obj_create_read_remove')).toBe('versioning');
    expect(classify('test_copy_part_enc[sse-c-none-STANDARD-STANDARD-8388608]')).toBe('encryption/sse');
    expect(classify('test_get_object_ifmodifiedsince_good')).toBe('conditional/if-match');
    expect(classify('test_post_object_authenticated_request')).toBe('presigned');
    expect(classify('test_anything', 's3tests.functional.test_headers')).toBe('auth/headers');
    expect(classify('test_account_usage')).toBe('other');
    expect(classify('test_object_create_bad_date_none_aws2', 's3tests.functional.test_headers')).toBe('sigv2');
    expect(classify('test_cors_presigned_get_object_v2')).toBe('sigv2');
    expect(classify('test_bucketv2_notexist')).toBe('bucket');
  });

  it('names causes by S3 error code and operation, and spots a too-old client', () => {
    expect(causeOf('botocore.exceptions.ClientError: An error occurred (NoSuchKey) when calling the GetObject operation: x')).toBe(
      'NoSuchKey from GetObject',
    );
    expect(causeOf('failed on setup with "botocore.exceptions.ClientError: An error occurred (NotImplemented) when calling the ListObjectVersions operation"')).toBe(
      '[setup] NotImplemented from ListObjectVersions',
    );
    expect(causeOf('ParamValidationError', 'Unknown parameter in input: "IfMatch"')).toMatch(/^client too old.*IfMatch/);
  });

  it('counts outcomes per area and renders a markdown table', () => {
    const cases = parseJunit(JUNIT);
    expect(cases).toHaveLength(5);
    const s = summarise(cases);
    expect(s.areas.get('list')).toMatchObject({ passed: 1 });
    expect(s.areas.get('multipart')).toMatchObject({ failed: 1 });
    expect(s.areas.get('conditional/if-match')).toMatchObject({ client: 1, failed: 0 });
    expect(s.areas.get('versioning')).toMatchObject({ error: 1 });
    expect(s.areas.get('auth/headers')).toMatchObject({ skipped: 1 });
    const md = toMarkdown(cases, s, { list: true });
    expect(md).toContain('| list | 1 | 0 | 0 | 0 | 0 | 1 | 100% |');
    expect(md).toContain('| **all** | 1 | 1 | 1 | 1 | 1 | 5 | 33% |');
    expect(md).toContain('NotImplemented from CreateMultipartUpload');
    expect(md).toContain('- `test_put_object_ifmatch_good` (conditional/if-match): client too old');
  });
});
