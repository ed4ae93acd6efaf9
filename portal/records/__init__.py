"""志愿服务记录与证明: service records, hours and stars, certificates, the national export."""
