// zkprof's generic MLP guest for opML's MIPS VM (mlvm).
//
// It reads a ggml model file (magic 0x67676d6c; per tensor: n_dims, dims innermost first,
// big-endian f32 values; weight [in, out] then bias [out], layer by layer) from the VM's model
// region, takes every layer's shape from the file, and evaluates dense layers with ReLU between
// them and a softmax at the end, with opML's mlgo tensor library. The input region holds
// either n_input big-endian f32 values or n_input bytes (pixels, scaled by 1/255).
// It prints the output tensor and `Predicted class is  N`, and stores N as the VM's output.
//
// Built by zkprof with the user's own opML toolchain: GOOS=linux GOARCH=mips GOMIPS=softfloat
// go build -trimpath, then laid out by opML's mlgo/compile.py.
package main

import (
	"errors"
	"fmt"

	"mlgo/common"
	"mlgo/ml"
)

const bigEndian = true

type layer struct {
	in, out uint32
	w, b    *ml.Tensor
}

func readU32(b []byte, idx *int) (uint32, error) {
	if *idx+4 > len(b) {
		return 0, fmt.Errorf("model file truncated at byte %d", *idx)
	}
	return common.ReadInt32FromBytes(b, idx, bigEndian), nil
}

func readF32s(b []byte, idx *int, n int) ([]float32, error) {
	if n <= 0 || *idx+4*n > len(b) || *idx+4*n < *idx {
		return nil, fmt.Errorf("model file truncated: %d values at byte %d", n, *idx)
	}
	// The VM is big-endian MIPS: the file's values are read in place (as opML's examples do).
	out := common.DecodeFloat32List(b[*idx : *idx+4*n])
	*idx += 4 * n
	return out, nil
}

func loadModel() ([]layer, error) {
	fmt.Println("start zkprof_model_load")
	b := common.ReadBytes(common.MODEL_ADDR, bigEndian)
	fmt.Println("model_bytes len: ", len(b))
	idx := 0
	magic, err := readU32(b, &idx)
	if err != nil || magic != 0x67676d6c {
		return nil, errors.New("invalid model file (bad magic)")
	}
	var layers []layer
	for idx < len(b) {
		n := len(layers) + 1
		nd, err := readU32(b, &idx)
		if err != nil {
			return nil, err
		}
		if nd != 2 {
			return nil, fmt.Errorf("layer %d: weight has %d dims, expected 2", n, nd)
		}
		in, err := readU32(b, &idx)
		if err != nil {
			return nil, err
		}
		out, err := readU32(b, &idx)
		if err != nil {
			return nil, err
		}
		if len(layers) > 0 && layers[len(layers)-1].out != in {
			return nil, fmt.Errorf("layer %d: %d inputs after a layer of %d outputs", n, in, layers[len(layers)-1].out)
		}
		w, err := readF32s(b, &idx, int(in)*int(out))
		if err != nil {
			return nil, err
		}
		bd, err := readU32(b, &idx)
		if err != nil {
			return nil, err
		}
		bn, err := readU32(b, &idx)
		if err != nil {
			return nil, err
		}
		if bd != 1 || bn != out {
			return nil, fmt.Errorf("layer %d: bias dims %d x %d, expected 1 x %d", n, bd, bn, out)
		}
		bias, err := readF32s(b, &idx, int(out))
		if err != nil {
			return nil, err
		}
		fmt.Println("layer", n, ":", in, "->", out)
		layers = append(layers, layer{
			in: in, out: out,
			w: ml.NewTensor2DWithData(nil, ml.TYPE_F32, in, out, w),
			b: ml.NewTensor1DWithData(nil, ml.TYPE_F32, out, bias),
		})
	}
	if len(layers) == 0 {
		return nil, errors.New("model file has no layers")
	}
	return layers, nil
}

func readInput(n uint32) ([]float32, error) {
	buf := common.ReadBytes(common.INPUT_ADDR, bigEndian)
	fmt.Println("input bytes: ", len(buf))
	x := make([]float32, n)
	switch len(buf) {
	case 4 * int(n):
		copy(x, common.DecodeFloat32List(buf))
	case int(n):
		for i := range x {
			x[i] = float32(buf[i]) / 255
		}
	default:
		return nil, fmt.Errorf("input has %d bytes; expected %d (f32) or %d (u8)", len(buf), 4*n, n)
	}
	return x, nil
}

func eval(layers []layer, x []float32) int {
	fmt.Println("start zkprof_eval")
	ctx0 := &ml.Context{}
	graph := ml.Graph{ThreadsCount: 1}
	cur := ml.NewTensor1D(ctx0, ml.TYPE_F32, layers[0].in)
	copy(cur.Data, x)
	for i, l := range layers {
		cur = ml.Add(ctx0, ml.MulMat(ctx0, l.w, cur), l.b)
		if i+1 < len(layers) {
			cur = ml.Relu(ctx0, cur)
		}
	}
	final := ml.SoftMax(ctx0, cur)
	ml.BuildForwardExpand(&graph, final)
	ml.GraphCompute(ctx0, &graph)
	ml.PrintTensor(final, "final tensor")
	best := 0
	for i := range final.Data {
		if final.Data[i] > final.Data[best] {
			best = i
		}
	}
	return best
}

func main() {
	fmt.Println("Start zkprof MLP guest")
	layers, err := loadModel()
	if err != nil {
		fmt.Println(err)
		common.Halt()
	}
	x, err := readInput(layers[0].in)
	if err != nil {
		fmt.Println(err)
		common.Halt()
	}
	ret := eval(layers, x)
	fmt.Println("Predicted class is ", ret)
	common.Output(common.IntToBytes(ret, bigEndian), bigEndian)
}
