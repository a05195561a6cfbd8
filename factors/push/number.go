package push

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
)

// Number matching: the login shows a two-digit number and the app asks the
// user to pick it among NumChoices, so a push approved by reflex, without
// looking at the login screen, is refused.
const (
	MinNumber  = 10
	MaxNumber  = 99
	NumChoices = 3
)

// PickNumber draws the number to show at login, uniformly in
// [MinNumber, MaxNumber], from r (nil: crypto/rand).
func PickNumber(r io.Reader) (int, error) {
	return uniform(r, MinNumber, MaxNumber)
}

func uniform(r io.Reader, lo, hi int) (int, error) {
	if r == nil {
		r = rand.Reader
	}
	n, err := rand.Int(r, big.NewInt(int64(hi-lo+1)))
	if err != nil {
		return 0, fmt.Errorf("push: random number: %w", err)
	}
	return lo + int(n.Int64()), nil
}

// drawChoices returns number and NumChoices-1 distinct decoys, shuffled.
func drawChoices(r io.Reader, number int) ([]int, error) {
	choices := []int{number}
	// A working source repeats itself rarely; one that keeps doing so is
	// broken, and looping on it would hang the login.
	for draws := 0; len(choices) < NumChoices; draws++ {
		if draws == 64 {
			return nil, errors.New("push: random source keeps repeating itself")
		}
		d, err := uniform(r, MinNumber, MaxNumber)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(choices, d) {
			choices = append(choices, d)
		}
	}
	// Fisher-Yates, so the right number is equally likely at every place.
	for i := len(choices) - 1; i > 0; i-- {
		j, err := uniform(r, 0, i)
		if err != nil {
			return nil, err
		}
		choices[i], choices[j] = choices[j], choices[i]
	}
	return choices, nil
}

// checkNumber validates a Context's number matching fields.
func checkNumber(number int, choices []int) error {
	if number == 0 {
		if len(choices) != 0 {
			return errors.New("push: choices without a number to match")
		}
		return nil
	}
	if number < MinNumber || number > MaxNumber {
		return fmt.Errorf("push: number %d out of %d-%d", number, MinNumber, MaxNumber)
	}
	if choices == nil {
		return nil // Begin draws them
	}
	if len(choices) != NumChoices || !slices.Contains(choices, number) {
		return fmt.Errorf("push: choices %v do not offer %d among %d numbers", choices, number, NumChoices)
	}
	for i, c := range choices {
		if c < MinNumber || c > MaxNumber || slices.Contains(choices[:i], c) {
			return fmt.Errorf("push: choices %v are not %d distinct numbers in %d-%d", choices, NumChoices, MinNumber, MaxNumber)
		}
	}
	return nil
}
