//! Compute pool instance families (spcs.md §1.6): the resources one node of a family gives containers.
//! CREATE COMPUTE POOL validates against this table and SHOW COMPUTE POOL INSTANCE FAMILIES lists it;
//! the scheduler sizes nodes from it.
//!
//! Families of every cloud are accepted (floe is cloud-neutral). Omitted for lack of per-size figures in
//! the reference: GPU_L40S_G1_* and GPU_R6K_G1_*. Descriptions follow Snowflake's documentation where it
//! words one and are floe's own otherwise.

/// One instance family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceFamily {
    /// Upper-case name, as in `INSTANCE_FAMILY = CPU_X64_XS`.
    pub name: &'static str,
    /// One-line description (SHOW … INSTANCE FAMILIES `description`).
    pub description: &'static str,
    /// vCPUs available to containers on one node.
    pub vcpu: u32,
    /// Memory available to containers on one node, GiB.
    pub memory_gib: u32,
    /// Node storage, GB (decimal; SHOW reports GiB).
    pub storage_gb: u32,
    /// GPU model, if the family has GPUs.
    pub gpu: Option<&'static str>,
    /// GPUs per node.
    pub gpu_count: u32,
    /// Total GPU memory per node, GiB, where known.
    pub gpu_memory_gib: Option<u32>,
    /// Most nodes one pool of this family may have; None where Snowflake grants limits on request.
    pub node_limit: Option<u32>,
    /// Container image platform nodes of the family run.
    pub platform: &'static str,
}

impl InstanceFamily {
    /// Storage in GiB, rounded to two decimals (100 GB → 93.13), as SHOW reports it.
    pub fn storage_gib(&self) -> f64 {
        (self.storage_gb as f64 * 1e9 / (1u64 << 30) as f64 * 100.0).round() / 100.0
    }
}

const AMD64: &str = "linux/amd64";
const ARM64: &str = "linux/arm64";

const fn cpu(name: &'static str, description: &'static str, vcpu: u32, memory_gib: u32, node_limit: Option<u32>, platform: &'static str) -> InstanceFamily {
    InstanceFamily { name, description, vcpu, memory_gib, storage_gb: 100, gpu: None, gpu_count: 0, gpu_memory_gib: None, node_limit, platform }
}

#[allow(clippy::too_many_arguments)]
const fn gpu(
    name: &'static str,
    description: &'static str,
    vcpu: u32,
    memory_gib: u32,
    storage_gb: u32,
    model: &'static str,
    count: u32,
    gpu_memory_gib: Option<u32>,
    node_limit: Option<u32>,
) -> InstanceFamily {
    InstanceFamily { name, description, vcpu, memory_gib, storage_gb, gpu: Some(model), gpu_count: count, gpu_memory_gib, node_limit, platform: AMD64 }
}

/// Every instance family floe accepts, in SHOW order.
pub const INSTANCE_FAMILIES: &[InstanceFamily] = &[
    cpu("CPU_X64_XS", "Smallest instance available for Snowpark Containers. Ideal for cost-savings and getting started.", 1, 6, Some(500), AMD64),
    cpu("CPU_X64_S", "Ideal for hosting multiple services/jobs while saving cost.", 3, 13, Some(500), AMD64),
    cpu("CPU_X64_M", "Ideal for having a full stack application or multiple services.", 6, 28, Some(500), AMD64),
    cpu("CPU_X64_SL", "For applications that need more CPUs and memory than CPU_X64_M.", 14, 58, Some(500), AMD64),
    cpu("CPU_X64_L", "For applications which need an unusually large number of CPUs, memory and storage.", 28, 116, Some(500), AMD64),
    cpu("HIGHMEM_X64_S", "For memory intensive applications.", 6, 58, Some(500), AMD64),
    cpu("HIGHMEM_X64_M", "For hosting multiple memory intensive applications on a single machine.", 28, 240, Some(500), AMD64),
    cpu("HIGHMEM_X64_SL", "Large high-memory machine (Azure and GCP sizes differ; Azure's figures).", 60, 492, None, AMD64),
    cpu("HIGHMEM_X64_L", "Largest high-memory machine available for processing large in-memory data.", 124, 984, Some(500), AMD64),
    cpu("GEN_X64_G2_2", "Second-generation general-purpose x64, 2 vCPU size.", 1, 6, Some(150), AMD64),
    cpu("GEN_X64_G2_4", "Second-generation general-purpose x64, 4 vCPU size.", 3, 13, Some(150), AMD64),
    cpu("GEN_X64_G2_8", "Second-generation general-purpose x64, 8 vCPU size.", 6, 28, Some(150), AMD64),
    cpu("GEN_X64_G2_16", "Second-generation general-purpose x64, 16 vCPU size.", 14, 58, Some(150), AMD64),
    cpu("GEN_X64_G2_32", "Second-generation general-purpose x64, 32 vCPU size.", 28, 116, Some(150), AMD64),
    cpu("GEN_ARM_G1_2", "General-purpose ARM (linux/arm64 images), 2 vCPU size.", 1, 6, Some(150), ARM64),
    cpu("GEN_ARM_G1_4", "General-purpose ARM (linux/arm64 images), 4 vCPU size.", 3, 13, Some(150), ARM64),
    cpu("GEN_ARM_G1_8", "General-purpose ARM (linux/arm64 images), 8 vCPU size.", 6, 28, Some(150), ARM64),
    cpu("GEN_ARM_G1_16", "General-purpose ARM (linux/arm64 images), 16 vCPU size.", 14, 58, Some(150), ARM64),
    cpu("GEN_ARM_G1_32", "General-purpose ARM (linux/arm64 images), 32 vCPU size.", 28, 116, Some(150), ARM64),
    cpu("MEM_X64_G2_8", "Second-generation memory-optimized x64, 8 vCPU size.", 6, 58, Some(150), AMD64),
    cpu("MEM_X64_G2_32", "Second-generation memory-optimized x64, 32 vCPU size.", 28, 240, Some(150), AMD64),
    cpu("MEM_X64_G2_64", "Second-generation memory-optimized x64, 64 vCPU size.", 60, 492, Some(150), AMD64),
    cpu("MEM_X64_G2_96", "Second-generation memory-optimized x64, 96 vCPU size.", 92, 652, Some(150), AMD64),
    cpu("MEM_X64_G2_192", "Second-generation memory-optimized x64, 192 vCPU size.", 188, 1436, Some(150), AMD64),
    gpu("GPU_NV_S", "Our smallest NVIDIA GPU available for Snowpark Containers to get started.", 6, 28, 450, "NVIDIA A10G", 1, Some(24), Some(150)),
    gpu("GPU_NV_M", "Optimized for intensive GPU usage scenarios like Computer Vision or LLMs/VLMs.", 44, 178, 3800, "NVIDIA A10G", 4, Some(96), Some(10)),
    gpu("GPU_NV_L", "Largest GPU instance for specialized and advanced GPU cases like LLMs and Clustering etc.", 92, 1112, 100, "NVIDIA A100", 8, Some(320), None),
    gpu("GPU_NV_XS", "Smallest NVIDIA GPU on Azure.", 3, 26, 100, "NVIDIA T4", 1, Some(16), Some(10)),
    gpu("GPU_NV_SM", "Single NVIDIA A10 GPU on Azure.", 32, 424, 100, "NVIDIA A10", 1, Some(24), Some(10)),
    gpu("GPU_NV_2M", "Two NVIDIA A10 GPUs on Azure.", 68, 858, 100, "NVIDIA A10", 2, Some(48), Some(5)),
    gpu("GPU_NV_3M", "Two NVIDIA A100 GPUs on Azure.", 44, 424, 100, "NVIDIA A100", 2, Some(160), None),
    gpu("GPU_NV_SL", "Four NVIDIA A100 GPUs on Azure.", 92, 858, 100, "NVIDIA A100", 4, Some(320), None),
    gpu("GPU_GCP_NV_L4_1_24G", "Single NVIDIA L4 GPU on GCP.", 6, 28, 100, "NVIDIA L4", 1, Some(24), Some(10)),
    gpu("GPU_GCP_NV_L4_4_24G", "Four NVIDIA L4 GPUs on GCP.", 44, 178, 100, "NVIDIA L4", 4, Some(96), Some(10)),
    gpu("GPU_GCP_NV_A100_8_40G", "Eight NVIDIA A100 GPUs on GCP.", 92, 654, 100, "NVIDIA A100", 8, Some(320), None),
    gpu("GPU_A100_G1_12", "Single NVIDIA A100 GPU.", 10, 77, 100, "NVIDIA A100", 1, None, None),
    gpu("GPU_A100_G1_48", "Four NVIDIA A100 GPUs.", 44, 324, 100, "NVIDIA A100", 4, None, None),
];

/// The family of that name (case-insensitive), if floe knows it.
pub fn instance_family(name: &str) -> Option<&'static InstanceFamily> {
    INSTANCE_FAMILIES.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_storage() {
        let xs = instance_family("cpu_x64_xs").unwrap();
        assert_eq!((xs.vcpu, xs.memory_gib, xs.node_limit), (1, 6, Some(500)));
        assert_eq!(instance_family("CPU_X64_S").unwrap().storage_gib(), 93.13);
        assert_eq!(instance_family("GEN_ARM_G1_4").unwrap().platform, "linux/arm64");
        assert!(instance_family("STANDARD_1").is_none());
        let mut names: Vec<&str> = INSTANCE_FAMILIES.iter().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), INSTANCE_FAMILIES.len());
    }
}
