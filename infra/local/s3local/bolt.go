package s3local

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	bolt "go.etcd.io/bbolt"
	"gopkg.in/mgo.v2/bson"
)

// boltBackend is gofakes3's bolt backend with GetObject and HeadObject
// replaced. s3bolt decodes an object's record straight from the bytes bolt
// hands out inside a read transaction, and bson keeps the contents as a
// slice of them: the response body then points into bolt's memory map after
// the transaction ends, and when a concurrent write grows the file and bolt
// remaps it, reading that body faults (SIGBUS, seen under `demo --data`).
// Here the record is copied out while the transaction holds the map.
type boltBackend struct {
	*s3bolt.Backend
	db *bolt.DB
}

// boltRecord is s3bolt's stored record (its boltObject), decoded from the
// same bson.
type boltRecord struct {
	Name         string
	Metadata     map[string]string
	LastModified time.Time
	Size         int64
	Contents     []byte
	Hash         []byte
}

func (b boltBackend) record(bucketName, objectName string) (boltRecord, error) {
	var r boltRecord
	err := b.db.View(func(tx *bolt.Tx) error {
		bucket := tx.Bucket([]byte(bucketName))
		if bucket == nil {
			return gofakes3.BucketNotFound(bucketName)
		}
		v := bucket.Get([]byte(objectName))
		if v == nil {
			return gofakes3.KeyNotFound(objectName)
		}
		if err := bson.Unmarshal(bytes.Clone(v), &r); err != nil {
			return fmt.Errorf("decode object %s/%s: %w", bucketName, objectName, err)
		}
		return nil
	})
	return r, err
}

// GetObject is s3bolt's GetObject over a copy of the record.
func (b boltBackend) GetObject(bucketName, objectName string, rangeRequest *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	r, err := b.record(bucketName, objectName)
	if err != nil {
		return nil, err
	}
	rnge, err := rangeRequest.Range(r.Size)
	if err != nil {
		return nil, err
	}
	data := r.Contents
	if rnge != nil {
		data = data[rnge.Start : rnge.Start+rnge.Length]
	}
	return &gofakes3.Object{
		Name:     objectName,
		Metadata: r.Metadata,
		Size:     r.Size,
		Contents: io.NopCloser(bytes.NewReader(data)),
		Range:    rnge,
		Hash:     r.Hash,
	}, nil
}

// HeadObject is GetObject without a body (s3bolt's own calls its GetObject).
func (b boltBackend) HeadObject(bucketName, objectName string) (*gofakes3.Object, error) {
	obj, err := b.GetObject(bucketName, objectName, nil)
	if err != nil {
		return nil, err
	}
	obj.Contents = io.NopCloser(bytes.NewReader(nil))
	return obj, nil
}
