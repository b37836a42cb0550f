// Command credcheck resolves AWS credentials with aws-sdk-go v1 (Debian's
// golang-github-aws-aws-sdk-go-dev, or the 1.15.11 vendored in distribution
// v2.8.3; built in GOPATH mode) the way a long-running Go service does, and
// answers one JSON line per stdin command:
//
//	get   credentials as the SDK resolves them now (cached until it deems them expired)
//	call  sts:GetCallerIdentity signed with them, with the SDK's retries: an
//	      ExpiredToken answer makes the SDK expire its credentials and retry
//
// Modes (first argument):
//
//	session      session.NewSession's credential chain, what the registry's
//	             s3-aws storage driver (Harbor) uses: environment, then the
//	             shared credentials file (read into static credentials), the
//	             shared config (credential_process, with AWS_SDK_LOAD_CONFIG=1),
//	             then the container endpoint or IMDS, whose endpoint comes from
//	             AWS_EC2_METADATA_SERVICE_ENDPOINT.
//	shared-file  credentials.NewSharedCredentials: the provider that re-reads the
//	             file when the credentials are expired (after an ExpiredToken).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/sts"
)

type creds struct {
	AccessKeyID     string  `json:"accessKeyId"`
	SecretAccessKey string  `json:"secretAccessKey"`
	SessionToken    string  `json:"sessionToken"`
	Expiration      *string `json:"expiration"`
	Provider        string  `json:"provider"`
}

type reply struct {
	OK       bool              `json:"ok"`
	Creds    *creds            `json:"creds,omitempty"`
	Arn      string            `json:"arn,omitempty"`
	Error    string            `json:"error,omitempty"`
	Code     string            `json:"code,omitempty"`
	Versions map[string]string `json:"versions,omitempty"`
}

func main() {
	out := json.NewEncoder(os.Stdout)
	mode := "session"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	sess, err := session.NewSession(&aws.Config{
		Region: aws.String("us-east-1"),
		// Errors name every provider the chain tried.
		CredentialsChainVerboseErrors: aws.Bool(true),
		// The SDK logs to stdout by default; stdout carries the answers.
		Logger: aws.LoggerFunc(func(args ...interface{}) { fmt.Fprintln(os.Stderr, args...) }),
	})
	if err != nil {
		_ = out.Encode(reply{Error: "session: " + err.Error()})
		os.Exit(1)
	}
	c := sess.Config.Credentials
	switch mode {
	case "session":
	case "shared-file":
		c = credentials.NewSharedCredentials(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), "default")
	default:
		_ = out.Encode(reply{Error: "unknown mode " + mode})
		os.Exit(2)
	}
	client := sts.New(sess, &aws.Config{
		Credentials: c,
		Endpoint:    aws.String(os.Getenv("CREDCHECK_STS_ENDPOINT")),
	})

	_ = out.Encode(reply{OK: true, Versions: map[string]string{"aws-sdk-go": aws.SDKVersion, "go": runtime.Version()}})
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch strings.TrimSpace(in.Text()) {
		case "get":
			v, err := c.Get()
			if err != nil {
				_ = out.Encode(reply{Error: err.Error()})
				continue
			}
			got := &creds{v.AccessKeyID, v.SecretAccessKey, v.SessionToken, nil, v.ProviderName}
			// Credentials.ExpiresAt arrived after 1.15.11 (the registry's vendored SDK):
			// asked through an interface, the program builds against both.
			if e, ok := interface{}(c).(interface{ ExpiresAt() (time.Time, error) }); ok {
				if at, err := e.ExpiresAt(); err == nil {
					s := at.UTC().Format(time.RFC3339)
					got.Expiration = &s
				}
			}
			_ = out.Encode(reply{OK: true, Creds: got})
		case "call":
			res, err := client.GetCallerIdentity(&sts.GetCallerIdentityInput{})
			if err != nil {
				r := reply{Error: err.Error()}
				if aerr, ok := err.(awserr.Error); ok {
					r.Code = aerr.Code()
				}
				_ = out.Encode(r)
				continue
			}
			_ = out.Encode(reply{OK: true, Arn: aws.StringValue(res.Arn)})
		default:
			_ = out.Encode(reply{Error: fmt.Sprintf("unknown command %q", in.Text())})
		}
	}
}
