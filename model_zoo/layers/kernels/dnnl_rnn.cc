// TensorFlow CPU ops that run a whole LSTM or GRU (reset_after) sequence through oneDNN's
// fused RNN primitives, forward and backward (issue 20).
//
// Why hand-written: neither TensorFlow nor Keras exposes oneDNN's RNN primitives (TF's
// `BlockLSTM` ops are its own Eigen code, slower than the zoo's pure-TF loop and with wrong
// gradients through `tape.gradient`), and the per-step matmuls of a TF while loop stop at about
// half of the machine's SGEMM peak. oneDNN runs the input projection for all steps as one
// GEMM, fuses the gates, and computes the weight gradients over all steps at once.
//
// Layouts are Keras's, so nothing is reordered in Python:
//   x (T, B, I) time-major; kernel (I, G*H) = oneDNN ldigo with l = d = 1; recurrent kernel
//   (H, G*H) = ldigo; bias (nbias*H,) = ldgo; states (B, H) = ldnc. Gates: LSTM i, f, c, o;
//   linear-before-reset GRU u, r, o (Keras's z, r, h) with the bias
//   [b_z, b_r, b_h(input), b_h(recurrent)] (Python folds Keras's (2, 3H) bias into it).
// oneDNN reorders the weights into its own layouts once per call.
//
// Built by scripts/build_dnnl_rnn.sh against Debian's libdnnl (oneDNN 2.x, OpenMP) and the
// TensorFlow that `tf.sysconfig` points to; model_zoo/layers/fast_rnn.py loads it if present.
// Compiled with hidden visibility and -Bsymbolic: TensorFlow carries its own oneDNN, whose C++
// wrapper symbols must not bind to (or from) ours.

#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace {

using ::tensorflow::DEVICE_CPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Status;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;
using ::tensorflow::errors::InvalidArgument;
using ::tensorflow::errors::Internal;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Every oneDNN call runs on this one thread. oneDNN's OpenMP runtime (GNU libgomp) keeps one
// thread team per calling thread; once TensorFlow has called it from two of its threads (the
// forward on one, the backward on another), libgomp counts more threads than cores and its
// workers stop spinning between the per-time-step parallel regions: every step then pays
// futex wake-ups. Measured on a 2-core EPYC, paired against the TensorFlow loop: 0.60-0.90x
// in training when called from TensorFlow's threads, 1.2-2.1x (most shapes) with a single
// calling thread. Jobs are serialised: two at once would only oversubscribe the cores.
class DnnlThread {
 public:
  static DnnlThread& Get() {
    static DnnlThread* thread = new DnnlThread();  // never destroyed: detached, lives to exit
    return *thread;
  }

  // Runs `job` on the oneDNN thread and returns when it is done.
  void Run(const std::function<void()>& job) {
    std::lock_guard<std::mutex> one_at_a_time(call_mu_);
    std::unique_lock<std::mutex> lock(mu_);
    job_ = &job;
    wake_.notify_one();
    done_.wait(lock, [this] { return job_ == nullptr; });
  }

 private:
  DnnlThread() { std::thread([this] { Loop(); }).detach(); }

  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      wake_.wait(lock, [this] { return job_ != nullptr; });
      lock.unlock();
      (*job_)();
      lock.lock();
      job_ = nullptr;
      done_.notify_all();
    }
  }

  std::mutex call_mu_, mu_;
  std::condition_variable wake_, done_;
  const std::function<void()>* job_ = nullptr;
};

// Runs `job` (which executes oneDNN primitives) on the oneDNN thread; oneDNN errors become the
// op's status.
void RunOnDnnlThread(OpKernelContext* ctx, const char* what, const std::function<void()>& job) {
  std::string error;
  DnnlThread::Get().Run([&] {
    try {
      job();
    } catch (const dnnl::error& e) {
      error = e.what();
    }
  });
  if (!error.empty()) ctx->SetStatus(Internal("oneDNN ", what, " failed: ", error));
}

struct Dims {
  int64_t T, B, I, H, G, nbias, nstates;
};

// Memory descriptors of one call, in the user (Keras) layouts.
struct Descs {
  dnnl::memory::desc src_layer, dst_layer, state, weights_layer, weights_iter, bias;
  dnnl::memory::desc weights_layer_any, weights_iter_any;
  explicit Descs(const Dims& d)
      : src_layer({d.T, d.B, d.I}, dt::f32, tag::tnc),
        dst_layer({d.T, d.B, d.H}, dt::f32, tag::tnc),
        state({1, 1, d.B, d.H}, dt::f32, tag::ldnc),
        weights_layer({1, 1, d.I, d.G, d.H}, dt::f32, tag::ldigo),
        weights_iter({1, 1, d.H, d.G, d.H}, dt::f32, tag::ldigo),
        bias({1, 1, d.nbias, d.H}, dt::f32, tag::ldgo),
        weights_layer_any({1, 1, d.I, d.G, d.H}, dt::f32, tag::any),
        weights_iter_any({1, 1, d.H, d.G, d.H}, dt::f32, tag::any) {}
};

const auto kFwdDir = dnnl::rnn_direction::unidirectional_left2right;

// The oneDNN primitives of each cell; `kLstm` selects LSTM, else linear-before-reset GRU.
// Forward descriptors for training keep a workspace for the backward.
template <bool kLstm>
struct Cell;

template <>
struct Cell<true> {
  using Fwd = dnnl::lstm_forward;
  using Bwd = dnnl::lstm_backward;
  static Fwd::primitive_desc Forward(const Descs& m, bool training) {
    auto prop = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    Fwd::desc desc(prop, kFwdDir, m.src_layer, m.state, m.state, m.weights_layer_any,
                   m.weights_iter_any, m.bias, m.dst_layer, m.state, m.state);
    return Fwd::primitive_desc(desc, Engine());
  }
  static Bwd::primitive_desc Backward(const Descs& m, const Fwd::primitive_desc& fwd) {
    Bwd::desc desc(dnnl::prop_kind::backward, kFwdDir, m.src_layer, m.state, m.state,
                   m.weights_layer_any, m.weights_iter_any, m.bias, m.dst_layer, m.state,
                   m.state, m.src_layer, m.state, m.state, m.weights_layer,
                   m.weights_iter, m.bias, m.dst_layer, m.state, m.state);
    return Bwd::primitive_desc(desc, Engine(), fwd);
  }
};

template <>
struct Cell<false> {
  using Fwd = dnnl::lbr_gru_forward;
  using Bwd = dnnl::lbr_gru_backward;
  static Fwd::primitive_desc Forward(const Descs& m, bool training) {
    auto prop = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    Fwd::desc desc(prop, kFwdDir, m.src_layer, m.state, m.weights_layer_any,
                   m.weights_iter_any, m.bias, m.dst_layer, m.state);
    return Fwd::primitive_desc(desc, Engine());
  }
  static Bwd::primitive_desc Backward(const Descs& m, const Fwd::primitive_desc& fwd) {
    Bwd::desc desc(dnnl::prop_kind::backward, kFwdDir, m.src_layer, m.state,
                   m.weights_layer_any, m.weights_iter_any, m.bias, m.dst_layer, m.state,
                   m.src_layer, m.state, m.weights_layer, m.weights_iter, m.bias,
                   m.dst_layer, m.state);
    return Bwd::primitive_desc(desc, Engine(), fwd);
  }
};

dnnl::memory Wrap(const dnnl::memory::desc& md, const Tensor& t) {
  return dnnl::memory(md, Engine(), const_cast<char*>(t.tensor_data().data()));
}

// `user` in the layout `pd_md` wants: itself, or a reordered copy (executed on `stream`).
dnnl::memory Into(const dnnl::memory& user, const dnnl::memory::desc& pd_md,
                  dnnl::stream& stream) {
  if (user.get_desc() == pd_md) return user;
  dnnl::memory out(pd_md, Engine());
  dnnl::reorder(user, out).execute(stream, const_cast<dnnl::memory&>(user), out);
  return out;
}

Status CheckDims(OpKernelContext* ctx, int G, int nbias, int nstates, Dims* d) {
  const Tensor& x = ctx->input(0);
  const Tensor& kernel = ctx->input(1);
  const Tensor& rkernel = ctx->input(2);
  const Tensor& bias = ctx->input(3);
  if (x.dims() != 3) return InvalidArgument("x must be (time, batch, features), got ", x.shape().DebugString());
  d->T = x.dim_size(0);
  d->B = x.dim_size(1);
  d->I = x.dim_size(2);
  d->G = G;
  d->nbias = nbias;
  d->nstates = nstates;
  if (rkernel.dims() != 2 || rkernel.dim_size(1) % G != 0)
    return InvalidArgument("recurrent kernel must be (H, ", G, "*H), got ", rkernel.shape().DebugString());
  d->H = rkernel.dim_size(0);
  if (rkernel.dim_size(1) != G * d->H)
    return InvalidArgument("recurrent kernel must be (H, ", G, "*H), got ", rkernel.shape().DebugString());
  if (kernel.dims() != 2 || kernel.dim_size(0) != d->I || kernel.dim_size(1) != G * d->H)
    return InvalidArgument("kernel must be (", d->I, ", ", G * d->H, "), got ", kernel.shape().DebugString());
  if (bias.NumElements() != nbias * d->H)
    return InvalidArgument("bias must have ", nbias * d->H, " values, got ", bias.shape().DebugString());
  for (int s = 0; s < nstates; ++s) {
    const Tensor& st = ctx->input(4 + s);
    if (st.dims() != 2 || st.dim_size(0) != d->B || st.dim_size(1) != d->H)
      return InvalidArgument("initial state must be (", d->B, ", ", d->H, "), got ", st.shape().DebugString());
  }
  if (d->T < 1 || d->B < 1) return InvalidArgument("empty sequence batch: ", x.shape().DebugString());
  return Status();
}

template <bool kLstm>
class DnnlRnnForwardOp : public OpKernel {
 public:
  static constexpr int G = kLstm ? 4 : 3, NB = 4, NS = kLstm ? 2 : 1;
  explicit DnnlRnnForwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("training", &training_));
  }

  void Compute(OpKernelContext* ctx) override {
    Dims d;
    OP_REQUIRES_OK(ctx, CheckDims(ctx, G, NB, NS, &d));
    Tensor *y, *final[NS], *ws;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({d.T, d.B, d.H}), &y));
    for (int s = 0; s < NS; ++s)
      OP_REQUIRES_OK(ctx, ctx->allocate_output(1 + s, TensorShape({d.B, d.H}), &final[s]));
    // Everything that runs oneDNN code (reorders and primitives) goes to its thread.
    RunOnDnnlThread(ctx, kLstm ? "LSTM forward" : "GRU forward", [&] {
      Descs m(d);
      auto pd = Cell<kLstm>::Forward(m, training_);
      size_t ws_bytes = training_ ? pd.workspace_desc().get_size() : 0;
      OP_REQUIRES_OK(ctx, ctx->allocate_output(1 + NS, TensorShape({(int64_t)ws_bytes}), &ws));
      dnnl::stream stream(Engine());
      auto w_layer = Into(Wrap(m.weights_layer, ctx->input(1)),
                          pd.weights_layer_desc(), stream);
      auto w_iter = Into(Wrap(m.weights_iter, ctx->input(2)),
                         pd.weights_iter_desc(), stream);
      std::unordered_map<int, dnnl::memory> args = {
          {DNNL_ARG_SRC_LAYER, Wrap(m.src_layer, ctx->input(0))},
          {DNNL_ARG_SRC_ITER, Wrap(m.state, ctx->input(4))},
          {DNNL_ARG_WEIGHTS_LAYER, w_layer},
          {DNNL_ARG_WEIGHTS_ITER, w_iter},
          {DNNL_ARG_BIAS, Wrap(m.bias, ctx->input(3))},
          {DNNL_ARG_DST_LAYER, Wrap(m.dst_layer, *y)},
          {DNNL_ARG_DST_ITER, Wrap(m.state, *final[0])}};
      if (kLstm) {
        args[DNNL_ARG_SRC_ITER_C] = Wrap(m.state, ctx->input(5));
        args[DNNL_ARG_DST_ITER_C] = Wrap(m.state, *final[1]);
      }
      if (training_)
        args[DNNL_ARG_WORKSPACE] = Wrap(pd.workspace_desc(), *ws);
      typename Cell<kLstm>::Fwd(pd).execute(stream, args);
      stream.wait();
    });
  }

 private:
  bool training_;
};

// Inputs: x, kernel, rkernel, bias, init states (NS), y, final states (NS), workspace,
// dy, d final states (NS). Outputs: dx, dkernel, drkernel, dbias, d init states (NS).
template <bool kLstm>
class DnnlRnnBackwardOp : public OpKernel {
 public:
  static constexpr int G = kLstm ? 4 : 3, NB = 4, NS = kLstm ? 2 : 1;
  explicit DnnlRnnBackwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    Dims d;
    OP_REQUIRES_OK(ctx, CheckDims(ctx, G, NB, NS, &d));
    const int y_i = 4 + NS, final_i = 5 + NS, ws_i = 5 + 2 * NS, dy_i = 6 + 2 * NS,
              dfinal_i = 7 + 2 * NS;
    Tensor *dx, *dkernel, *drkernel, *dbias, *dinit[NS];
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, ctx->input(0).shape(), &dx));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, ctx->input(1).shape(), &dkernel));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, ctx->input(2).shape(), &drkernel));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(3, ctx->input(3).shape(), &dbias));
    for (int s = 0; s < NS; ++s)
      OP_REQUIRES_OK(ctx, ctx->allocate_output(4 + s, TensorShape({d.B, d.H}), &dinit[s]));
    // Everything that runs oneDNN code (reorders and primitives) goes to its thread.
    RunOnDnnlThread(ctx, kLstm ? "LSTM backward" : "GRU backward", [&] {
      Descs m(d);
      auto fwd = Cell<kLstm>::Forward(m, true);
      auto pd = Cell<kLstm>::Backward(m, fwd);
      const auto ws_md = pd.workspace_desc();
      OP_REQUIRES(ctx, (size_t)ctx->input(ws_i).NumElements() == ws_md.get_size(),
                  InvalidArgument("workspace of ", ctx->input(ws_i).NumElements(),
                                  " bytes does not match this call's ", ws_md.get_size()));
      dnnl::stream stream(Engine());
      auto w_layer = Into(Wrap(m.weights_layer, ctx->input(1)),
                          pd.weights_layer_desc(), stream);
      auto w_iter = Into(Wrap(m.weights_iter, ctx->input(2)),
                         pd.weights_iter_desc(), stream);
      // Diff weights: asked for in Keras's layout (ldigo), which measured faster than letting
      // oneDNN choose ("any": LSTM training at (64, 100, 64, 256) 23% of peak against 47%);
      // zeroed, as the primitive accumulates into them; reordered only if oneDNN insists.
      const auto dwl_md = pd.diff_weights_layer_desc();
      const auto dwi_md = pd.diff_weights_iter_desc();
      auto dkernel_user = Wrap(m.weights_layer, *dkernel);
      auto drkernel_user = Wrap(m.weights_iter, *drkernel);
      auto dw_layer = dwl_md == m.weights_layer ? dkernel_user : dnnl::memory(dwl_md, Engine());
      auto dw_iter = dwi_md == m.weights_iter ? drkernel_user : dnnl::memory(dwi_md, Engine());
      for (auto* mem : {&dw_layer, &dw_iter})
        std::memset(mem->get_data_handle(), 0, mem->get_desc().get_size());
      auto dbias_mem = Wrap(m.bias, *dbias);
      std::memset(dbias_mem.get_data_handle(), 0, m.bias.get_size());
      std::unordered_map<int, dnnl::memory> args = {
          {DNNL_ARG_SRC_LAYER, Wrap(m.src_layer, ctx->input(0))},
          {DNNL_ARG_SRC_ITER, Wrap(m.state, ctx->input(4))},
          {DNNL_ARG_WEIGHTS_LAYER, w_layer},
          {DNNL_ARG_WEIGHTS_ITER, w_iter},
          {DNNL_ARG_BIAS, Wrap(m.bias, ctx->input(3))},
          {DNNL_ARG_DST_LAYER, Wrap(m.dst_layer, ctx->input(y_i))},
          {DNNL_ARG_DST_ITER, Wrap(m.state, ctx->input(final_i))},
          {DNNL_ARG_WORKSPACE, Wrap(ws_md, ctx->input(ws_i))},
          {DNNL_ARG_DIFF_DST_LAYER, Wrap(m.dst_layer, ctx->input(dy_i))},
          {DNNL_ARG_DIFF_DST_ITER, Wrap(m.state, ctx->input(dfinal_i))},
          {DNNL_ARG_DIFF_SRC_LAYER, Wrap(m.src_layer, *dx)},
          {DNNL_ARG_DIFF_SRC_ITER, Wrap(m.state, *dinit[0])},
          {DNNL_ARG_DIFF_WEIGHTS_LAYER, dw_layer},
          {DNNL_ARG_DIFF_WEIGHTS_ITER, dw_iter},
          {DNNL_ARG_DIFF_BIAS, dbias_mem}};
      if (kLstm) {
        args[DNNL_ARG_SRC_ITER_C] = Wrap(m.state, ctx->input(5));
        args[DNNL_ARG_DST_ITER_C] = Wrap(m.state, ctx->input(final_i + 1));
        args[DNNL_ARG_DIFF_DST_ITER_C] = Wrap(m.state, ctx->input(dfinal_i + 1));
        args[DNNL_ARG_DIFF_SRC_ITER_C] = Wrap(m.state, *dinit[1]);
      }
      typename Cell<kLstm>::Bwd(pd).execute(stream, args);
      if (dw_layer.get_data_handle() != dkernel_user.get_data_handle())
        dnnl::reorder(dw_layer, dkernel_user).execute(stream, dw_layer, dkernel_user);
      if (dw_iter.get_data_handle() != drkernel_user.get_data_handle())
        dnnl::reorder(dw_iter, drkernel_user).execute(stream, dw_iter, drkernel_user);
      stream.wait();
    });
  }
};

}  // namespace

REGISTER_OP("ZooDnnlLstm")
    .Input("x: float")
    .Input("kernel: float")
    .Input("recurrent_kernel: float")
    .Input("bias: float")
    .Input("h0: float")
    .Input("c0: float")
    .Output("y: float")
    .Output("h: float")
    .Output("c: float")
    .Output("workspace: uint8")
    .Attr("training: bool = false")
    .SetShapeFn([](::tensorflow::shape_inference::InferenceContext* c) {
      auto x = c->input(0);
      auto h0 = c->input(4);
      TF_RETURN_IF_ERROR(c->WithRank(x, 3, &x));
      auto units = c->Dim(c->input(2), 0);
      c->set_output(0, c->MakeShape({c->Dim(x, 0), c->Dim(x, 1), units}));
      c->set_output(1, h0);
      c->set_output(2, h0);
      c->set_output(3, c->Vector(c->UnknownDim()));
      return Status();
    });

REGISTER_OP("ZooDnnlLstmGrad")
    .Input("x: float")
    .Input("kernel: float")
    .Input("recurrent_kernel: float")
    .Input("bias: float")
    .Input("h0: float")
    .Input("c0: float")
    .Input("y: float")
    .Input("h: float")
    .Input("c: float")
    .Input("workspace: uint8")
    .Input("dy: float")
    .Input("dh: float")
    .Input("dc: float")
    .Output("dx: float")
    .Output("dkernel: float")
    .Output("drecurrent_kernel: float")
    .Output("dbias: float")
    .Output("dh0: float")
    .Output("dc0: float")
    .SetShapeFn([](::tensorflow::shape_inference::InferenceContext* c) {
      for (int i = 0; i < 6; ++i) c->set_output(i, c->input(i));
      return Status();
    });

REGISTER_OP("ZooDnnlGru")
    .Input("x: float")
    .Input("kernel: float")
    .Input("recurrent_kernel: float")
    .Input("bias: float")
    .Input("h0: float")
    .Output("y: float")
    .Output("h: float")
    .Output("workspace: uint8")
    .Attr("training: bool = false")
    .SetShapeFn([](::tensorflow::shape_inference::InferenceContext* c) {
      auto x = c->input(0);
      TF_RETURN_IF_ERROR(c->WithRank(x, 3, &x));
      auto units = c->Dim(c->input(2), 0);
      c->set_output(0, c->MakeShape({c->Dim(x, 0), c->Dim(x, 1), units}));
      c->set_output(1, c->input(4));
      c->set_output(2, c->Vector(c->UnknownDim()));
      return Status();
    });

REGISTER_OP("ZooDnnlGruGrad")
    .Input("x: float")
    .Input("kernel: float")
    .Input("recurrent_kernel: float")
    .Input("bias: float")
    .Input("h0: float")
    .Input("y: float")
    .Input("h: float")
    .Input("workspace: uint8")
    .Input("dy: float")
    .Input("dh: float")
    .Output("dx: float")
    .Output("dkernel: float")
    .Output("drecurrent_kernel: float")
    .Output("dbias: float")
    .Output("dh0: float")
    .SetShapeFn([](::tensorflow::shape_inference::InferenceContext* c) {
      for (int i = 0; i < 5; ++i) c->set_output(i, c->input(i));
      return Status();
    });

REGISTER_KERNEL_BUILDER(Name("ZooDnnlLstm").Device(DEVICE_CPU), DnnlRnnForwardOp<true>);
REGISTER_KERNEL_BUILDER(Name("ZooDnnlLstmGrad").Device(DEVICE_CPU), DnnlRnnBackwardOp<true>);
REGISTER_KERNEL_BUILDER(Name("ZooDnnlGru").Device(DEVICE_CPU), DnnlRnnForwardOp<false>);
REGISTER_KERNEL_BUILDER(Name("ZooDnnlGruGrad").Device(DEVICE_CPU), DnnlRnnBackwardOp<false>);
