package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// TestSignatureCoversOperation: a signature that does not cover
// X-Amz-Target is refused, so a request signed as a DescribeKey without the
// target cannot be replayed as ScheduleKeyDeletion; the key stays enabled.
// Before, the server verified the signature over the headers the client
// listed and then routed on the unsigned X-Amz-Target.
func TestSignatureCoversOperation(t *testing.T) {
	api, _, _ := devNode(t)
	creds := credsFor(api)
	client := kmsClient(api, creds, 1)
	key, err := client.CreateKey(ctx10(t), &kms.CreateKeyInput{Description: aws.String("replay target")})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"KeyId":"` + *key.KeyMetadata.KeyId + `","PendingWindowInDays":7}`

	// Signed without the target, sent with ScheduleKeyDeletion's.
	req := signedRequest(t, api, creds, "", body)
	req.Header.Set("X-Amz-Target", "TrentService.ScheduleKeyDeletion")
	status, answer := send(t, api, req)
	if status != http.StatusBadRequest || !strings.Contains(answer, "InvalidSignatureException") || !strings.Contains(answer, "X-Amz-Target") {
		t.Fatalf("an unsigned target was accepted: HTTP %d %s", status, answer)
	}
	// Signed as DescribeKey, replayed as ScheduleKeyDeletion.
	req = signedRequest(t, api, creds, "TrentService.DescribeKey", body)
	req.Header.Set("X-Amz-Target", "TrentService.ScheduleKeyDeletion")
	status, answer = send(t, api, req)
	if status != http.StatusBadRequest || !strings.Contains(answer, "InvalidSignatureException") {
		t.Fatalf("a changed target was accepted: HTTP %d %s", status, answer)
	}
	d, err := client.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: key.KeyMetadata.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	if d.KeyMetadata.KeyState != types.KeyStateEnabled || d.KeyMetadata.DeletionDate != nil {
		t.Fatalf("the key is %s (deletion %v) after the refused replays", d.KeyMetadata.KeyState, d.KeyMetadata.DeletionDate)
	}

	// The same request with its target signed is served.
	status, answer = send(t, api, signedRequest(t, api, creds, "TrentService.ScheduleKeyDeletion", body))
	if status != http.StatusOK || !strings.Contains(answer, "DeletionDate") {
		t.Fatalf("a signed ScheduleKeyDeletion: HTTP %d %s", status, answer)
	}
}
