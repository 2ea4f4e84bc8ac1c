package fsm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// MaxAccessKeysPerUser is IAM's limit of access keys per user.
const MaxAccessKeysPerUser = 2

func (f *FSM) applyCreateUser(cmd *fsmpb.Command) error {
	var c fsmpb.CreateUser
	decodePayload(cmd, &c)
	if f.st.init == nil {
		return ErrNotInitialized
	}
	u := c.GetUser()
	if u.GetName() == "" || u.GetArn() == "" {
		return fmt.Errorf("%w: user record incomplete", ErrInvalidCommand)
	}
	// IAM user names are unique regardless of case.
	for name := range f.st.users {
		if strings.EqualFold(name, u.Name) {
			return ErrUserExists
		}
	}
	f.st.users[u.Name] = u
	return nil
}

func (f *FSM) applyCreateAccessKey(cmd *fsmpb.Command) error {
	var ak fsmpb.AccessKey
	decodePayload(cmd, &ak)
	if ak.AccessKeyId == "" || len(ak.SealedSecret) == 0 || ak.UserName == "" {
		return fmt.Errorf("%w: access key record incomplete", ErrInvalidCommand)
	}
	if _, ok := f.st.users[ak.UserName]; !ok {
		return ErrUserNotFound
	}
	if _, ok := f.st.accessKeys[ak.AccessKeyId]; ok {
		return fmt.Errorf("%w: access key id in use", ErrInvalidCommand)
	}
	n := 0
	for _, k := range f.st.accessKeys {
		if k.UserName == ak.UserName {
			n++
		}
	}
	if n >= MaxAccessKeysPerUser {
		return ErrAccessKeyLimit
	}
	f.st.accessKeys[ak.AccessKeyId] = &ak
	f.st.index.addAccessKey(&ak)
	return nil
}

// applyDeleteAccessKey deletes a user's key. The root's key is not a user's
// and cannot be deleted this way: it is the way back in.
func (f *FSM) applyDeleteAccessKey(cmd *fsmpb.Command) error {
	var c fsmpb.DeleteAccessKey
	decodePayload(cmd, &c)
	ak, ok := f.st.accessKeys[c.AccessKeyId]
	if !ok || ak.UserName == "" || (c.UserName != "" && ak.UserName != c.UserName) {
		return ErrAccessKeyNotFound
	}
	delete(f.st.accessKeys, c.AccessKeyId)
	f.st.index.removeAccessKey(ak)
	return nil
}

func (f *FSM) applyPutUserPolicy(cmd *fsmpb.Command) error {
	var c fsmpb.PutUserPolicy
	decodePayload(cmd, &c)
	u, ok := f.st.users[c.UserName]
	if !ok {
		return ErrUserNotFound
	}
	p := c.GetPolicy()
	if p.GetName() == "" {
		return fmt.Errorf("%w: policy name is empty", ErrInvalidCommand)
	}
	i := slices.IndexFunc(u.Policies, func(q *fsmpb.UserPolicy) bool { return q.Name == p.Name })
	if i >= 0 {
		u.Policies[i] = p
		return nil
	}
	u.Policies = append(u.Policies, p)
	slices.SortFunc(u.Policies, func(a, b *fsmpb.UserPolicy) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// applyDeleteUser deletes a user with no access keys and no policies left,
// as IAM refuses (DeleteConflict) to delete one that has any: a user is
// never removed from under a credential that still signs as it.
func (f *FSM) applyDeleteUser(cmd *fsmpb.Command) error {
	var c fsmpb.DeleteUser
	decodePayload(cmd, &c)
	u, ok := f.st.users[c.UserName]
	if !ok {
		return ErrUserNotFound
	}
	if len(u.Policies) > 0 {
		return ErrUserHasEntities
	}
	for _, k := range f.st.accessKeys {
		if k.UserName == c.UserName {
			return ErrUserHasEntities
		}
	}
	delete(f.st.users, c.UserName)
	return nil
}

func (f *FSM) applyDeleteUserPolicy(cmd *fsmpb.Command) error {
	var c fsmpb.DeleteUserPolicy
	decodePayload(cmd, &c)
	u, ok := f.st.users[c.UserName]
	if !ok {
		return ErrUserNotFound
	}
	i := slices.IndexFunc(u.Policies, func(q *fsmpb.UserPolicy) bool { return q.Name == c.PolicyName })
	if i < 0 {
		return ErrUserPolicyNotFound
	}
	u.Policies = slices.Delete(slices.Clone(u.Policies), i, i+1)
	return nil
}
