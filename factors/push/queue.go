package push

import "container/heap"

// expiryQueue is a min-heap of pending entries by expiry, so expired pushes
// are found without scanning them all.
type expiryQueue []*entry

func (q expiryQueue) Len() int           { return len(q) }
func (q expiryQueue) Less(i, j int) bool { return q[i].p.Expires.Before(q[j].p.Expires) }
func (q expiryQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}

// Push and Pop implement heap.Interface; use push and remove.
func (q *expiryQueue) Push(x any) {
	e := x.(*entry)
	e.index = len(*q)
	*q = append(*q, e)
}

func (q *expiryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	e.index = -1
	return e
}

func (q *expiryQueue) push(e *entry) { heap.Push(q, e) }

// remove takes e out of the queue; it does nothing if e is not in it.
func (q *expiryQueue) remove(e *entry) {
	if e.index >= 0 && e.index < len(*q) && (*q)[e.index] == e {
		heap.Remove(q, e.index)
	}
}
