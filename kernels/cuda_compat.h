/* cuda_compat.h — the CUDA dialect the kernels are written in, for two compilers.
 *
 * Every kernels/ *.cu file is compiled either
 *   - by nvcc for the GPU (the real backend), or
 *   - by g++ as plain C++ with -DSPARSETUNE_CUDA_EMU for the CPU emulator (kernels/emu/),
 *     which runs each thread of a block as a fiber, so the test build (and CI, which has no
 *     GPU) runs the very same kernel code and compares it with the CPU backend.
 *
 * Rules for kernel code, so that both compile and mean the same thing:
 *   - launch only through KLAUNCH(kernel, grid, block, smem_bytes, args...) (no <<< >>>;
 *     no template kernels inside KLAUNCH: give them a non-template wrapper kernel);
 *   - dynamic shared memory only through DYN_SMEM(type, name); static __shared__ arrays in the
 *     kernel body are fine;
 *   - __syncthreads(), __shfl_xor_sync / __shfl_sync / __shfl_down_sync (full mask) and
 *     __syncwarp() must be reached by ALL threads of the block the same number of times
 *     (uniform control flow) — the emulator implements warp shuffles with block barriers;
 *   - atomicAdd only on int/unsigned (counters, histograms): float results must not depend
 *     on the order of atomics (deterministic results, same bits run to run);
 *   - device functions: __device__ __forceinline__; math: expf logf sqrtf rsqrtf erff tanhf
 *     fabsf fmaxf fminf __expf, __float_as_uint __uint_as_float, __float2bfloat16
 *     __bfloat162float; integer min/max written out (no CUDA min/max overloads);
 *   - no cub/thrust, no __ldg, no inline PTX, no cooperative groups. */
#ifndef SPARSETUNE_CUDA_COMPAT_H
#define SPARSETUNE_CUDA_COMPAT_H

#ifdef SPARSETUNE_CUDA_EMU

#include "emu/cuda_emu.h" /* runtime, cuBLAS, bf16, builtins, emu_launch, emu_dyn_smem */
#define KLAUNCH(kernel, grid, block, smem, ...)                                               \
    emu_launch(dim3(grid), dim3(block), (size_t)(smem), #kernel, [=]() { kernel(__VA_ARGS__); })
#define DYN_SMEM(type, name) type *name = reinterpret_cast<type *>(emu_dyn_smem())

#else

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
extern cudaStream_t cu_stream; /* the backend's one stream (backend.cu) */
#define KLAUNCH(kernel, grid, block, smem, ...)                                               \
    do {                                                                                     \
        kernel<<<(grid), (block), (smem), cu_stream>>>(__VA_ARGS__);                          \
        cu_check_launch(#kernel, __FILE__, __LINE__);                                        \
    } while (0)
#define DYN_SMEM(type, name)                                                                 \
    extern __shared__ __align__(16) unsigned char cu_dyn_smem_[];                            \
    type *name = reinterpret_cast<type *>(cu_dyn_smem_)

#endif

/* Dies with the kernel's name when its launch failed (cudaGetLastError). */
void cu_check_launch(const char *kernel, const char *file, int line);

#endif
