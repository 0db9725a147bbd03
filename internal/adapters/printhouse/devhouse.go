package printhouse

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"os"
	"path/filepath"
	"time"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/domain/letters"
)

// DevHouse answers spooled jobs as a print house would, so the whole loop can be seen
// locally: every job is posted; a share of them (ReturnShare, picked by job id, so the same
// jobs every time) comes back as undeliverable; registered_proof jobs are delivered with proof.
// It reads only the spool folder and writes only receipt files, as an outside print house.
type DevHouse struct {
	Spool       string
	ReturnShare float64
	Now         func() time.Time
}

// Answer writes receipts for the jobs not answered yet and reports how many jobs it answered.
func (d DevHouse) Answer() (int, error) {
	manifests, err := filepath.Glob(filepath.Join(d.Spool, "*.json"))
	if err != nil {
		return 0, err
	}
	dir := ReceiptsDir(d.Spool)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, err
	}
	answered := 0
	for _, m := range manifests {
		var job print.Job
		b, err := os.ReadFile(m)
		if err != nil || json.Unmarshal(b, &job) != nil || job.ID == "" {
			continue // not a manifest (or not whole yet)
		}
		if d.answered(job.ID) {
			continue
		}
		now := d.Now()
		receipts := []Receipt{{JobID: job.ID, Outcome: Posted, At: now}}
		switch {
		case job.PostalCategory == string(letters.RegisteredProof):
			receipts = append(receipts, Receipt{JobID: job.ID, Outcome: Delivered, At: now.Add(time.Second)})
		case d.returns(job.ID):
			receipts = append(receipts, Receipt{JobID: job.ID, Outcome: Returned, Reason: "addressee unknown", At: now.Add(time.Second)})
		}
		if err := writeReceipts(dir, job.ID, receipts); err != nil {
			return answered, err
		}
		answered++
	}
	return answered, nil
}

// answered: the job's receipts are waiting, read, or rejected.
func (d DevHouse) answered(job string) bool {
	dir := ReceiptsDir(d.Spool)
	for _, sub := range []string{"", "done", "rejected"} {
		if _, err := os.Stat(filepath.Join(dir, sub, job+".json")); !errors.Is(err, os.ErrNotExist) {
			return true
		}
	}
	return false
}

func (d DevHouse) returns(job string) bool {
	h := fnv.New32a()
	h.Write([]byte(job))
	return float64(h.Sum32()%1000) < d.ReturnShare*1000
}

// writeReceipts writes one job's receipts, in the order they happened, as one file under a
// temporary name and renames it, so the scanner never reads half a file.
func writeReceipts(dir, job string, rs []Receipt) error {
	b, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, job+".json")
	if err := os.WriteFile(path+".part", b, 0o640); err != nil {
		return err
	}
	return os.Rename(path+".part", path)
}
